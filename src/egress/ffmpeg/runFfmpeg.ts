/**
 * The one place Lectern spawns ffmpeg. We spawn the binary directly with argument arrays from args.ts
 * (fluent-ffmpeg, unmaintained, was dropped); this module is the seam where another runner could go, and
 * nothing outside egress/ffmpeg/ may spawn ffmpeg.
 */
import { createRequire } from 'node:module';
import { FfmpegError } from './FfmpegError.js';
import { parseDuration, StderrTail } from './parse.js';
import { spawnTied } from './spawnTied.js';

export interface RunFfmpegOptions {
  /** Path to the binary (config); default: the one bundled with @ffmpeg-installer/ffmpeg. */
  ffmpegPath?: string;
  /** Aborting kills ffmpeg (SIGKILL) and rejects with code 'aborted'. */
  signal?: AbortSignal;
  /** Length of the output, for percentages; default: the first input's Duration as ffmpeg prints it. */
  durationSeconds?: number;
  /** Percent done (0..100), at most a few times a second; 100 when ffmpeg reports the end. */
  onProgress?: (percent: number) => void;
  /** How many stderr lines an error keeps (default 20). */
  tailLines?: number;
}

export interface FfmpegResult {
  /** ffmpeg's last stderr lines (warnings are worth logging even on success). */
  stderr: string[];
}

let bundled: string | undefined;

/** The bundled binary's path; 'ffmpeg-missing' when the platform package is not installed. */
export function defaultFfmpegPath(): string {
  if (bundled) return bundled;
  try {
    const { path } = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    bundled = path;
    return path;
  } catch (err) {
    throw new FfmpegError('ffmpeg-missing', 'no bundled ffmpeg for this platform; configure the ffmpeg path', [], null, {
      cause: err,
    });
  }
}

const GLOBAL_ARGS = ['-hide_banner', '-nostdin', '-nostats', '-progress', 'pipe:1'];

export function runFfmpeg(args: readonly string[], opts: RunFfmpegOptions = {}): Promise<FfmpegResult> {
  return new Promise<FfmpegResult>((resolve, reject) => {
    const { signal, onProgress } = opts;
    if (signal?.aborted) return reject(new FfmpegError('aborted', 'ffmpeg aborted before it started'));
    let path: string;
    try {
      path = opts.ffmpegPath ?? defaultFfmpegPath();
    } catch (err) {
      return reject(err);
    }

    const tail = new StderrTail(opts.tailLines ?? 20);
    let duration = opts.durationSeconds;
    let head = '';
    let lastPercent = -1;
    let aborted = false;
    let settled = false;
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve({ stderr: tail.lines() });
    };
    const report = (percent: number) => {
      const p = Math.min(100, Math.max(0, Math.round(percent * 10) / 10));
      if (p === lastPercent || !onProgress) return;
      lastPercent = p;
      try {
        onProgress(p);
      } catch {
        // a listener's bug must not kill the encode
      }
    };

    const child = spawnTied(path, [...GLOBAL_ARGS, ...args]);
    const onAbort = () => {
      aborted = true;
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      tail.push(chunk);
      if (duration === undefined && head.length < 65_536) {
        head += chunk; // the Duration line may be split across chunks
        duration = parseDuration(head);
      }
    });

    let progressBuf = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      progressBuf += chunk;
      let nl: number;
      while ((nl = progressBuf.indexOf('\n')) >= 0) {
        const line = progressBuf.slice(0, nl).trim();
        progressBuf = progressBuf.slice(nl + 1);
        const eq = line.indexOf('=');
        if (eq < 0) continue;
        const key = line.slice(0, eq);
        const value = line.slice(eq + 1);
        // out_time_ms is in microseconds too (a long-standing ffmpeg quirk); newer builds add out_time_us.
        if ((key === 'out_time_us' || key === 'out_time_ms') && duration && duration > 0) {
          const us = Number(value);
          if (Number.isFinite(us) && us >= 0) report(Math.min(99.9, (us / 1e6 / duration) * 100));
        } else if (key === 'progress' && value === 'end') {
          report(100);
        }
      }
    });

    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        finish(new FfmpegError('ffmpeg-missing', `ffmpeg not found or not executable at ${path}`, [], null, { cause: err }));
      } else {
        finish(new FfmpegError('ffmpeg-failed', `ffmpeg could not run: ${err.message}`, tail.lines(), null, { cause: err }));
      }
    });
    child.once('close', (code, sig) => {
      tail.flush();
      if (aborted) return finish(new FfmpegError('aborted', 'ffmpeg was aborted', tail.lines(), code));
      if (code === 0) return finish();
      const last = tail.lines().at(-1) ?? '';
      finish(
        new FfmpegError(
          'ffmpeg-failed',
          `ffmpeg exited with ${code ?? `signal ${sig}`}${last ? `: ${last}` : ''}`,
          tail.lines(),
          code,
        ),
      );
    });
  });
}
