import express, { type Request, type Response } from 'express';
import fs from 'node:fs';
import { rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { GroupDescription } from '../../config/GroupStore.js';
import type { JobStatusSource } from '../../egress/jobs/jobIndex.js';
import type { Logger } from '../../log.js';
import { checkRecordAccess } from './auth.js';
import { downloadName, parseRecorderName } from './lectures.js';
import { listGroupFolder, ProbeCache } from './listing.js';
import { listingHtml } from './listingHtml.js';
import { fileInFolder, groupFolder, isHiddenName, parseRecordingsPath, RecordingsPathError } from './recordingsPath.js';

export interface RecordingsDeps {
  /** The recordings folder (`--recordings`). */
  dir: string;
  /** The group's description (GroupStore.resolve), undefined when there is no such group. */
  describe(group: string): GroupDescription | undefined;
  /** Job states for the JSON listing (a JobIndex); without it, `jobs` is always empty. */
  jobs?: JobStatusSource;
  ffmpegPath?: string;
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.mp4': 'video/mp4',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.ts': 'video/mp2t',
  '.m4s': 'video/iso.segment',
};

export function contentTypeOf(name: string): string {
  return CONTENT_TYPES[extname(name).toLowerCase()] ?? 'application/octet-stream';
}

/** Files offered as downloads (Content-Disposition: attachment with a readable name). */
const DOWNLOADS = new Set(['.webm', '.mkv', '.mp4']);

const ACTIVE = new Set(['waiting', 'active', 'delayed']);

function encodeGroup(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}

function wantsJson(req: Request): boolean {
  return req.accepts(['text/html', 'application/json']) === 'application/json';
}

function fail(res: Response, status: number, message: string): void {
  if (res.headersSent) return void res.end();
  res.status(status).type('text/plain').send(`${message}\n`);
}

/**
 * `/recordings/<group>/`: the listing (HTML, or JSON when asked for application/json), downloads with Range
 * support, and `POST q=delete&filename=`. Every request needs HTTP Basic credentials of a user with
 * `record` in that group, or of any member where the group has `members-see-recordings` (then read-only: no
 * delete); nothing outside the group's own folder can be reached (see recordingsPath.ts).
 */
export function recordingsRouter(deps: RecordingsDeps, opts: { clientDir: string; log: Logger }): express.Router {
  const log = opts.log.child({ component: 'recordings' });
  const probes = new ProbeCache(deps.ffmpegPath, log);
  const router = express.Router();
  const form = express.urlencoded({ extended: false, limit: '16kb', parameterLimit: 10 });

  router.use(async (req, res) => {
    try {
      await handle(req, res);
    } catch (err) {
      if (err instanceof RecordingsPathError) return fail(res, err.status, err.message);
      // body-parser's refusals (too large, bad charset...) carry a 4xx status and a safe message.
      const { status, expose, message } = err as { status?: number; expose?: boolean; message?: string };
      if (expose && typeof status === 'number' && status >= 400 && status < 500) return fail(res, status, message ?? 'bad request');
      log.warn({ err, url: req.originalUrl }, 'recordings request failed');
      fail(res, 500, 'internal error');
    }
  });

  async function handle(req: Request, res: Response): Promise<void> {
    const isRead = req.method === 'GET' || req.method === 'HEAD';
    if (!isRead && req.method !== 'POST') {
      res.set('Allow', 'GET, HEAD, POST');
      return fail(res, 405, 'method not allowed');
    }
    const raw = (req.originalUrl.split('?')[0] ?? '').slice('/recordings/'.length);
    if (!req.originalUrl.startsWith('/recordings/')) return fail(res, 404, 'not found');
    const parsed = parseRecordingsPath(raw, (g) => deps.describe(g) !== undefined);
    const desc = deps.describe(parsed.group);
    if (!desc) return fail(res, 404, 'no such group');
    if (parsed.kind === 'no-slash') return void res.redirect(301, `/recordings/${encodeGroup(parsed.group)}/`);

    const auth = await checkRecordAccess(desc, parsed.group, req.headers.authorization);
    if (!auth.ok) {
      if (auth.status === 401) res.set('WWW-Authenticate', `Basic realm="/recordings/${encodeGroup(parsed.group)}/", charset="UTF-8"`);
      return fail(res, auth.status, auth.message);
    }
    res.set('Cache-Control', 'no-cache');
    res.set('X-Content-Type-Options', 'nosniff');
    const folder = await groupFolder(deps.dir, parsed.group);

    if (parsed.kind === 'folder') {
      if (req.method === 'POST') {
        if (!auth.mayChange) return fail(res, 403, `${auth.username || 'this user'} may watch and download these recordings, not delete them (that needs the record permission)`);
        return remove(req, res, parsed.group, folder);
      }
      const listing = {
        ...(await listGroupFolder({ group: parsed.group, folder, jobs: deps.jobs, probes })),
        displayName: desc.displayName || parsed.group,
        mayDelete: auth.mayChange,
      };
      res.vary('Accept');
      if (wantsJson(req)) return void res.json(listing);
      const clientScript = fs.existsSync(join(opts.clientDir, 'recordings.js'));
      return void res.type('html').send(listingHtml(listing, { clientScript }));
    }

    if (!isRead) return fail(res, 405, 'POST goes to the group folder');
    const file = folder ? await fileInFolder(folder, parsed.file) : undefined;
    if (!file) return fail(res, 404, 'no such file');
    res.type(contentTypeOf(file));
    if (!parsed.file.includes('/') && DOWNLOADS.has(extname(parsed.file).toLowerCase())) {
      // Saved as `<displayName> – <date time>[ (camera|screen)].<ext>` rather than the recorder's time stamp.
      const listing = await listGroupFolder({ group: parsed.group, folder, jobs: deps.jobs, probes });
      const lecture = listing.lectures.find((l) => l.files.some((f) => f.name === parsed.file));
      const role = lecture?.files.find((f) => f.name === parsed.file)?.role ?? 'other';
      const start = parseRecorderName(lecture?.id ?? '')?.start ?? new Date(lecture?.start ?? Date.now());
      res.attachment(downloadName(desc.displayName || parsed.group, start, role, extname(parsed.file)));
      res.type(contentTypeOf(file)); // attachment() set it from the download name's extension
    }
    res.sendFile(file, { dotfiles: 'allow', acceptRanges: true, lastModified: true, cacheControl: false }, (err) => {
      if (!err) return;
      const { status, headers } = err as { status?: number; headers?: Record<string, string> };
      if (status === 416) {
        if (headers?.['Content-Range'] && !res.headersSent) res.set('Content-Range', headers['Content-Range']);
        return fail(res, 416, 'range not satisfiable');
      }
      fail(res, status === 404 ? 404 : 500, status === 404 ? 'no such file' : 'could not read the file');
    });
  }

  /** Galène's delete: `q=delete&filename=<name>`; a composite MP4 takes its HLS replay (`<name>.hls/`) along. */
  async function remove(req: Request, res: Response, group: string, folder: string | undefined): Promise<void> {
    const origin = req.headers.origin;
    if (origin && origin !== 'null') {
      let sameHost = false;
      try {
        sameHost = new URL(origin).host === req.headers.host;
      } catch {
        // a malformed Origin is a foreign one
      }
      if (!sameHost) return fail(res, 403, 'cross-origin delete refused');
    }
    if (!req.is('application/x-www-form-urlencoded')) return fail(res, 415, 'expected a form (application/x-www-form-urlencoded)');
    await new Promise<void>((resolve, reject) => form(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
    const body = (req.body ?? {}) as Record<string, unknown>;
    if (body.q !== 'delete') return fail(res, 400, 'unknown request (expected q=delete)');
    const name = body.filename;
    if (typeof name !== 'string' || name === '' || name.includes('/') || name.includes('\\') || name.includes('\0') || isHiddenName(name)) {
      return fail(res, 400, 'bad file name');
    }
    const file = folder ? await fileInFolder(folder, name) : undefined;
    if (!file || !folder) return fail(res, 404, 'no such file');
    const stem = name.slice(0, name.length - extname(name).length);
    const base = deps.jobs?.baseOf(`${group}/${name}`) ?? `${group}/${stem}`;
    const busy = Object.entries(deps.jobs?.jobsOf(base) ?? {}).find(([, s]) => ACTIVE.has(s.state));
    if (busy) return fail(res, 409, `the ${busy[0]} job is still working on this recording; try again when it is done`);
    await rm(join(folder, name)); // the name itself: a link inside the folder goes, never what it points to
    if (extname(name).toLowerCase() === '.mp4') {
      // The replay is a copy of the MP4: it goes too. Only a real folder inside the group folder.
      const hls = join(folder, `${stem}.hls`);
      const st = await fs.promises.lstat(hls).catch(() => undefined);
      if (st?.isDirectory()) await rm(hls, { recursive: true, force: true });
    }
    log.info({ group, file: name }, 'recording deleted');
    if (wantsJson(req)) return void res.status(204).end();
    res.redirect(303, `/recordings/${encodeGroup(group)}/`);
  }

  return router;
}
