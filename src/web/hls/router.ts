/**
 * `/group/<g>/.hls/index.m3u8` (live window), `event.m3u8` (whole lecture) and their segments, read from
 * the live job's folder `<recordings>/<g>/.live/`.
 *
 * Access follows the group's rules: HTTP Basic credentials, or a token (`?token=`, or `Authorization:
 * Bearer`) checked like a joining client's; without credentials only when anyone may join the group
 * without a password. A playlist fetched with `?token=` carries the token on its segment URIs, so players
 * that drop the query string on relative URIs still work. Successful checks are cached for 30 s (a
 * password hash per segment would be wasteful). Playlists are `no-cache`; segment names are unique per
 * job run, so segments are immutable. Only plain files directly in the folder are served (no symlinks).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import type { GroupDescription } from '../../config/types.js';
import { liveDir } from '../../egress/live/types.js';
import { authorise, type Credentials } from '../../group/authorise.js';
import type { TokenStore } from '../../group/tokens/TokenStore.js';
import type { Logger } from '../../log.js';
import { parseHlsPath } from './hlsPath.js';

export interface HlsDeps {
  /** The recordings folder the live jobs write to. */
  dir: string;
  describe(group: string): GroupDescription | undefined;
  tokens?: Pick<TokenStore, 'get' | 'now'>;
  canonicalHost?: () => string | undefined;
  allowOrigin(): readonly string[];
  log: Logger;
}

const TYPES: Record<string, string> = {
  m3u8: 'application/vnd.apple.mpegurl',
  m4s: 'video/iso.segment',
  mp4: 'video/mp4',
  ts: 'video/mp2t',
};
const CACHE_MS = 30_000;

function credentials(req: Request): Credentials | undefined {
  const h = req.headers.authorization;
  const q = req.query['token'];
  if (typeof q === 'string' && q !== '') return { token: q, username: 'hls-viewer' };
  if (h?.startsWith('Bearer ')) return { token: h.slice(7).trim(), username: 'hls-viewer' };
  if (h?.startsWith('Basic ')) {
    const raw = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const colon = raw.indexOf(':');
    if (colon < 0) return undefined;
    return { username: raw.slice(0, colon), password: raw.slice(colon + 1) };
  }
  return undefined;
}

export function hlsHandler(deps: HlsDeps): (req: Request, res: Response, next: NextFunction) => void {
  const granted = new Map<string, number>();
  const anonymous = new WeakMap<GroupDescription, boolean>();
  const root = path.resolve(deps.dir);

  const allowed = async (group: string, desc: GroupDescription, creds: Credentials | undefined): Promise<boolean> => {
    if (!creds) {
      let open = anonymous.get(desc);
      if (open === undefined) {
        // Anyone may watch without credentials exactly when an empty username and password may join.
        const id = await authorise(desc, group, { username: '', password: '' }, deps.canonicalHost?.(), deps.tokens);
        open = id.ok;
        anonymous.set(desc, open);
      }
      return open;
    }
    const key = createHash('sha256').update(JSON.stringify([group, desc.mtimeMs, creds.username, creds.password, creds.token])).digest('hex');
    const now = Date.now();
    if ((granted.get(key) ?? 0) > now) return true;
    const id = await authorise(desc, group, creds, deps.canonicalHost?.(), deps.tokens);
    if (!id.ok) return false;
    if (granted.size > 10_000) granted.clear();
    granted.set(key, now + CACHE_MS);
    return true;
  };

  const handle = async (req: Request, res: Response): Promise<void> => {
    const raw = req.originalUrl.slice('/group/'.length).split('?')[0] ?? '';
    const parsed = parseHlsPath(raw);
    if (!parsed) return void res.status(404).type('text/plain').send('not found\n');
    const origins = deps.allowOrigin();
    const origin = req.headers.origin;
    if (origin && (origins.includes('*') || origins.includes(origin))) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
    }
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'GET, HEAD, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', 'Authorization, Range');
      return void res.status(204).end();
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD, OPTIONS');
      return void res.status(405).type('text/plain').send('method not allowed\n');
    }
    const desc = deps.describe(parsed.group);
    if (!desc) return void res.status(404).type('text/plain').send('group does not exist\n');
    const creds = credentials(req);
    if (!(await allowed(parsed.group, desc, creds))) {
      res.setHeader('WWW-Authenticate', 'Basic realm="Lectern", charset="UTF-8"');
      return void res.status(401).type('text/plain').send('not authorised: this group needs a username and password or a token\n');
    }
    const folder = path.resolve(root, liveDir(parsed.group));
    if (!folder.startsWith(root + path.sep)) return void res.status(404).type('text/plain').send('not found\n');
    const file = path.join(folder, parsed.file);
    // Refuse symlinks anywhere from the recordings folder down to the file.
    const real = await fs.promises.realpath(file).catch(() => undefined);
    const st = await fs.promises.lstat(file).catch(() => undefined);
    if (!real || !st?.isFile() || real !== path.join(await fs.promises.realpath(root), liveDir(parsed.group), parsed.file)) {
      res.setHeader('Cache-Control', 'no-cache');
      return void res.status(404).type('text/plain').send(parsed.file.endsWith('.m3u8') ? 'no live stream for this group\n' : 'not found\n');
    }
    const ext = parsed.file.slice(parsed.file.lastIndexOf('.') + 1);
    res.type(TYPES[ext] ?? 'application/octet-stream');
    if (ext === 'm3u8') {
      res.setHeader('Cache-Control', 'no-cache');
      let text = await fs.promises.readFile(file, 'utf8');
      const token = creds?.token !== undefined && typeof req.query['token'] === 'string' ? creds.token : undefined;
      if (token !== undefined) {
        const q = `?token=${encodeURIComponent(token)}`;
        text = text.replace(/^([^#\r\n][^\r\n]*)$/gm, `$1${q}`).replace(/URI="([^"]+)"/g, `URI="$1${q}"`);
      }
      return void res.send(text);
    }
    res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    res.sendFile(real, { dotfiles: 'allow', cacheControl: false, lastModified: false, etag: false });
  };

  return (req, res, next) => {
    if (!req.originalUrl.split('?')[0]!.includes('/.hls/')) return next();
    handle(req, res).catch((err: unknown) => {
      deps.log.warn({ err, url: req.originalUrl }, 'hls request failed');
      if (!res.headersSent) res.status(500).type('text/plain').send('internal error\n');
    });
  };
}
