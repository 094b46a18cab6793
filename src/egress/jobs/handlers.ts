import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { LecternError } from '../../errors.js';
import {
  FfmpegError,
  compositeArgs,
  hlsVodArgs,
  probeMedia,
  remuxArgs,
  runFfmpeg,
  thumbnailArgs,
} from '../ffmpeg/index.js';
import type { JobContext } from '../queue/index.js';
import { resolveInRecordings } from './paths.js';
import { publishPrivate } from './privateFiles.js';
import type {
  CompositeData,
  FinalizeData,
  FinalizeResult,
  HlsVodData,
  OutputResult,
  RecordingFiles,
  ThumbnailData,
} from './types.js';

export interface EgressHandlerOptions {
  recordingsDir: string;
  ffmpegPath?: string;
}

/** The handlers' context: the queue's JobContext narrowed to what they use. */
export type EgressContext = Pick<JobContext, 'progress' | 'signal'>;

/** How many of ffmpeg's last stderr lines a failed job's reason carries. */
const REASON_LINES = 8;

/** Turns an FfmpegError into an error whose message (the job's failed reason) ends with ffmpeg's stderr. */
export function withFfmpegReason(err: unknown): unknown {
  if (!(err instanceof FfmpegError) || err.code === 'aborted' || err.stderr.length === 0) return err;
  const tail = err.stderr.slice(-REASON_LINES).join('\n');
  return new LecternError(err.code, `${err.message}\n${tail}`, { cause: err });
}

/** Same directory, hidden temp name with the same extension (the muxer is chosen by it). */
function tempName(file: string, tag: string): string {
  const ext = extname(file);
  return join(dirname(file), `.${basename(file, ext)}.${tag}-${process.pid}-${Date.now()}${ext}`);
}

/** The base of a recording's outputs, relative to the recordings folder. */
export function recordingBase(rec: RecordingFiles): string {
  if (rec.base) return rec.base;
  const first = rec.camera ?? rec.screen ?? rec.audio;
  if (!first) throw new LecternError('composite-no-input', 'a recording needs at least one of screen, camera, audio');
  return first.slice(0, first.length - extname(first).length);
}

export function recordingFiles(rec: RecordingFiles): string[] {
  return [...new Set([rec.screen, rec.camera, rec.audio].filter((f): f is string => typeof f === 'string'))];
}

export function createEgressHandlers(opts: EgressHandlerOptions) {
  const root = opts.recordingsDir;
  const ff = opts.ffmpegPath === undefined ? {} : { ffmpegPath: opts.ffmpegPath };
  const resolve = (rel: unknown) => resolveInRecordings(root, rel);

  async function run(args: string[], ctx: EgressContext, onProgress: (p: number) => void, durationSeconds?: number) {
    try {
      return await runFfmpeg(args, {
        ...ff,
        signal: ctx.signal,
        onProgress,
        ...(durationSeconds ? { durationSeconds } : {}),
      });
    } catch (err) {
      throw withFfmpegReason(err);
    }
  }

  /** Which audio source to use: the named one, else the first of camera/screen that has an audio stream. */
  async function audioSource(rec: RecordingFiles, abs: Map<string, string>, ctx: EgressContext): Promise<string | undefined> {
    if (rec.audio) return abs.get(rec.audio);
    for (const f of [rec.camera, rec.screen]) {
      if (!f) continue;
      const info = await probeMedia(abs.get(f)!, { ...ff, signal: ctx.signal });
      if (info.streams.some((s) => s.type === 'audio')) return abs.get(f);
    }
    return undefined;
  }

  return {
    /**
     * Remux each file in place (so it gets a duration and cues): ffmpeg writes a temp file next to it,
     * which is renamed over the original only when ffmpeg succeeded. A retry just remuxes again.
     */
    async finalize(data: FinalizeData, ctx: EgressContext): Promise<FinalizeResult> {
      const files = recordingFiles(data.recording);
      if (files.length === 0) throw new LecternError('composite-no-input', 'finalize: the recording names no file');
      const abs = await Promise.all(files.map(resolve));
      ctx.progress(0);
      for (const [i, file] of abs.entries()) {
        await stat(file); // ENOENT before ffmpeg: a clear reason
        const tmp = tempName(file, 'finalizing');
        try {
          await run(remuxArgs(file, tmp), ctx, (p) => ctx.progress(((i + p / 100) / abs.length) * 100));
          await publishPrivate(tmp, file);
        } finally {
          await rm(tmp, { force: true });
        }
      }
      ctx.progress(100);
      return { files };
    },

    /** screen + camera + audio -> `<base>.mp4` (H.264/AAC, +faststart), written to a temp name then renamed. */
    async composite(data: CompositeData, ctx: EgressContext): Promise<OutputResult> {
      const rec = data.recording;
      const files = recordingFiles(rec);
      const abs = new Map<string, string>();
      for (const f of files) abs.set(f, await resolve(f));
      const outRel = `${recordingBase(rec)}.mp4`;
      const out = await resolve(outRel);
      const audio = await audioSource(rec, abs, ctx);
      const durations = await Promise.all(
        files.map(async (f) => (await probeMedia(abs.get(f)!, { ...ff, signal: ctx.signal })).durationSeconds ?? 0),
      );
      const duration = Math.max(0, ...durations);
      const tmp = tempName(out, 'compositing');
      try {
        const inputs = {
          ...(rec.screen ? { screen: abs.get(rec.screen)! } : {}),
          ...(rec.camera ? { camera: abs.get(rec.camera)! } : {}),
          ...(audio ? { audio } : {}),
        };
        await run(compositeArgs(inputs, tmp), ctx, (p) => ctx.progress(p), duration || undefined);
        await publishPrivate(tmp, out);
      } finally {
        await rm(tmp, { force: true });
      }
      ctx.progress(100);
      return { output: outRel };
    },

    /** HLS VOD of the composite (copied, already H.264/AAC) into `dir`, built in a temp folder then renamed. */
    async hlsVod(data: HlsVodData, ctx: EgressContext): Promise<OutputResult> {
      const input = await resolve(data.input);
      const dir = await resolve(data.dir);
      const tmp = join(dirname(dir), `.${basename(dir)}.building-${process.pid}-${Date.now()}`);
      await mkdir(tmp, { recursive: true, mode: 0o700 });
      try {
        await run(hlsVodArgs(input, tmp, { copy: true }), ctx, (p) => ctx.progress(p));
        await rm(dir, { recursive: true, force: true });
        await publishPrivate(tmp, dir);
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
      ctx.progress(100);
      return { output: `${data.dir}/index.m3u8` };
    },

    /** A JPEG at `atSeconds` (default: a third into the file, at most 10 s). */
    async thumbnail(data: ThumbnailData, ctx: EgressContext): Promise<OutputResult> {
      const input = await resolve(data.input);
      const out = await resolve(data.output);
      let at = data.atSeconds;
      if (at === undefined) {
        const info = await probeMedia(input, { ...ff, signal: ctx.signal });
        at = Math.min(10, (info.durationSeconds ?? 0) / 3);
      }
      const tmp = tempName(out, 'thumbnail');
      try {
        await run(thumbnailArgs(input, tmp, at), ctx, (p) => ctx.progress(p), 1);
        await publishPrivate(tmp, out);
      } finally {
        await rm(tmp, { force: true });
      }
      ctx.progress(100);
      return { output: data.output };
    },
  };
}

export type EgressHandlers = ReturnType<typeof createEgressHandlers>;
