/**
 * One live-hls job: subscribe to the group's lecture over WHEP, feed the RTP to ffmpeg (LiveRun), and keep
 * `index.m3u8` (live window) and `event.m3u8` (whole lecture) up to date from ffmpeg's own playlists.
 *
 * - A run starts once video arrives (or audio alone for a while); it waits briefly for the other kind so the
 *   run's SDP lists both. A kind that later appears, or a payload type that changes (the lecture's codec
 *   changed), starts a new run; so does a dead ffmpeg, at most `maxRestarts` times. While a screen is shared
 *   the server also sends the camera (`inset`, drawn bottom-right); its start or stop starts a new run with
 *   the new layout, joined to the playlist with a discontinuity.
 * - PLIs: when a run starts, and every 2 s until its first segment is listed.
 * - The job ends when no media arrived for `idleMs` (the lecture ended: the server's WHEP session stays up
 *   but silent), when the server closes the session, or when the queue aborts it; the playlists then get
 *   `#EXT-X-ENDLIST`.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { RtpPacket } from 'werift';
import { errorMessage, LecternError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { FfmpegError } from '../ffmpeg/index.js';
import type { LiveOutputOptions } from './liveArgs.js';
import { LiveRun, RUN_KINDS, type RunInputs, type RunKind } from './LiveRun.js';
import { buildPlaylists, parseMediaPlaylist, type RunPlaylist } from './playlist.js';
import type { LiveHlsData, LiveHlsResult } from './types.js';
import { WhepSubscriber, withLocalStun, type WhepIce } from './WhepSubscriber.js';

export interface LiveHlsJobOptions {
  recordingsDir: string;
  ffmpegPath?: string;
  /** ICE settings of the WHEP peer (a function: read when each job starts). */
  ice?: WhepIce | (() => WhepIce);
  /** No media for this long ends the job (default 10 s). */
  idleMs?: number;
  /** ffmpeg restarts allowed after failures (default 5). */
  maxRestarts?: number;
  /** Segments in index.m3u8 (default 6). */
  window?: number;
  output?: Omit<LiveOutputOptions, 'dir' | 'prefix'>;
  log: Logger;
}

const TICK_MS = 100;
const WAIT_OTHER_KIND_MS = 700;
const PLI_EVERY_MS = 2000;
/** A kind counts as present while its packets are this recent. */
const PRESENT_MS = 3000;

type Kind = RunKind;

/** `rel` inside `root`, or a LecternError (the job payload comes from a queue: never trust it). */
export function insideRoot(root: string, rel: string): string {
  const base = path.resolve(root);
  const full = path.resolve(base, rel);
  if (!full.startsWith(base + path.sep)) throw new LecternError('bad-path', `output folder ${JSON.stringify(rel)} is outside the recordings folder`);
  return full;
}

export async function runLiveHlsJob(data: LiveHlsData, signal: AbortSignal, opts: LiveHlsJobOptions): Promise<LiveHlsResult> {
  if (typeof data?.group !== 'string' || typeof data.whepUrl !== 'string' || typeof data.token !== 'string' || typeof data.dir !== 'string') {
    throw new LecternError('bad-job', 'live-hls: group, whepUrl, token and dir are required');
  }
  const dir = insideRoot(opts.recordingsDir, data.dir);
  const log = opts.log.child({ job: 'live-hls', group: data.group });
  const idleMs = opts.idleMs ?? 10_000;
  const maxRestarts = opts.maxRestarts ?? 5;
  const tag = randomBytes(4).toString('hex');

  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 }); // private like the recordings (ffmpeg's segments are 0644)

  const runs: { prefix: string; playlist: RunPlaylist; text: string }[] = [];
  let current: LiveRun | undefined;
  let restarts = 0;
  let starting = false;
  let lastPli = 0;
  let firstMediaAt = 0;
  let lastMediaAt = Date.now(); // the lecture is live when the job is enqueued: idle counts from now
  const last: Record<Kind, { pt: number; at: number } | undefined> = { video: undefined, inset: undefined, audio: undefined };
  let endReason: string | undefined;
  let failure: Error | undefined;
  let written = 0;

  const ice = await withLocalStun((typeof opts.ice === 'function' ? opts.ice() : opts.ice) ?? {});
  const sub = new WhepSubscriber(data.whepUrl, data.token, ice);
  sub.onClose = (reason) => (endReason ??= `server closed the session (${reason})`);
  sub.onRtp = (kind: Kind, p: RtpPacket) => {
    const now = Date.now();
    lastMediaAt = now;
    if (!firstMediaAt) firstMediaAt = now;
    last[kind] = { pt: p.header.payloadType, at: now };
    current?.send(kind, p);
  };

  const wanted = (): RunInputs => {
    const now = Date.now();
    const out: RunInputs = {};
    for (const kind of RUN_KINDS) {
      const l = last[kind];
      const codec = l && now - l.at < PRESENT_MS ? sub.codecs.get(l.pt) : undefined;
      if (l && codec) out[kind] = { payloadType: l.pt, codec };
    }
    if (!out.video) delete out.inset; // an inset alone is not a layout (the server moves the camera to the main video)
    return out;
  };

  const startRun = async (inputs: RunInputs) => {
    starting = true;
    try {
      const prefix = `${tag}-${runs.length + 1}`;
      const run = await LiveRun.start(prefix, inputs, dir, opts.output ?? {}, opts.ffmpegPath);
      runs.push({ prefix, playlist: { segments: [] }, text: '' });
      current = run;
      lastPli = 0;
      log.info({ prefix, video: inputs.video?.codec.name, inset: inputs.inset?.codec.name, audio: inputs.audio?.codec.name }, 'live transcode started');
    } finally {
      starting = false;
    }
  };

  const publish = async (ended: boolean) => {
    const r = runs.at(-1);
    if (r) {
      const text = await readFile(path.join(dir, `${r.prefix}.m3u8`), 'utf8').catch(() => '');
      if (text !== r.text) {
        r.text = text;
        r.playlist = parseMediaPlaylist(text);
      }
    }
    const total = runs.reduce((n, x) => n + x.playlist.segments.length, 0);
    if (total === written && !ended) return;
    if (total === 0 && !ended) return;
    const { event, live } = buildPlaylists(runs.map((x) => x.playlist), { ended, ...(opts.window ? { window: opts.window } : {}) });
    await writeFile(path.join(dir, 'event.m3u8.tmp'), event, { mode: 0o600 });
    await rename(path.join(dir, 'event.m3u8.tmp'), path.join(dir, 'event.m3u8'));
    await writeFile(path.join(dir, 'index.m3u8.tmp'), live, { mode: 0o600 });
    await rename(path.join(dir, 'index.m3u8.tmp'), path.join(dir, 'index.m3u8'));
    written = total;
  };

  const tick = async () => {
    const now = Date.now();
    if (signal.aborted) endReason ??= 'aborted';
    if (now - lastMediaAt > idleMs) endReason ??= 'no media (the lecture ended)';
    if (endReason) return;
    await publish(false);
    const want = wanted();
    if (current && current.exited) {
      const err = await current.done;
      current = undefined;
      // The segments of the dead run stay listed; the next run joins with a discontinuity.
      if (++restarts > maxRestarts) {
        failure = new LecternError('ffmpeg-restarts', `ffmpeg died ${restarts} times; last: ${errorMessage(err)}`);
        endReason = 'ffmpeg keeps failing';
        return;
      }
      log.warn({ err: errorMessage(err), stderr: err instanceof FfmpegError ? err.stderr.slice(-8) : undefined, restarts }, 'live ffmpeg exited; restarting');
    }
    if (current) {
      const inputs = current.inputs;
      // A kind that appears or changes codec; and the inset leaving (ffmpeg's overlay would wait for it).
      const changed =
        RUN_KINDS.some((k) => want[k] && (!inputs[k] || inputs[k]!.payloadType !== want[k]!.payloadType)) ||
        (inputs.inset !== undefined && want.inset === undefined);
      if (changed) {
        log.info('lecture media changed; new ffmpeg run');
        current.close();
        await current.done;
        current = undefined;
      }
    }
    if (!current && !starting && firstMediaAt) {
      const both = want.video && want.audio;
      const waited = now - firstMediaAt >= WAIT_OTHER_KIND_MS;
      if (both || ((want.video || want.audio) && waited)) await startRun(want);
    }
    const r = runs.at(-1);
    if (current && r && r.playlist.segments.length === 0 && now - lastPli >= PLI_EVERY_MS) {
      lastPli = now;
      sub.requestKeyframe();
    }
  };

  try {
    await sub.connect();
    log.info('subscribed over WHEP');
    await new Promise<void>((resolve) => {
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        tick()
          .catch((err: unknown) => {
            failure = err instanceof Error ? err : new Error(String(err));
            endReason ??= 'error';
          })
          .finally(() => {
            busy = false;
            if (endReason) {
              clearInterval(timer);
              resolve();
            }
          });
      }, TICK_MS);
    });
  } finally {
    endReason ??= 'error';
    if (current) {
      current.close();
      await current.done;
    }
    await sub.close();
    await publish(true).catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'cannot write the final playlists'));
    log.info({ reason: endReason, segments: written, runs: runs.length }, 'live transcode ended');
  }
  if (failure) throw failure;
  return { segments: written, runs: runs.length, reason: endReason };
}
