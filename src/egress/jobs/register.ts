import type { JobOptions, JobQueue } from '../queue/index.js';
import { createEgressHandlers, recordingBase, type EgressHandlerOptions } from './handlers.js';
import type { CompositeData, FinalizeData, HlsVodData, RecordingFiles, ThumbnailData } from './types.js';

export interface RegisterEgressOptions extends EgressHandlerOptions {
  /** Jobs of each kind run at most this many at once in this process (default 1: ffmpeg is CPU-bound). */
  concurrency?: number;
  /** Options for the follow-up jobs the handlers enqueue (attempts, backoff). */
  jobOptions?: JobOptions;
}

/**
 * Registers finalize, composite, hls-vod and thumbnail on `queue`.
 *
 * Chaining: each handler enqueues its successors as its last step, on the queue it runs on — finalize adds
 * composite and thumbnail, composite adds hls-vod. The chain therefore lives with the jobs themselves
 * (in Redis with BullMQ), not in an event listener of the process that started it: it survives that
 * process's restart and works when the worker runs on another machine. If adding a successor fails, the
 * job fails and is retried; every handler is idempotent (it writes a temp file and renames it), so a retry
 * after a partly done chain is harmless.
 */
export function registerEgressJobs(queue: JobQueue, opts: RegisterEgressOptions): void {
  const h = createEgressHandlers(opts);
  const conc = { concurrency: opts.concurrency ?? 1 };
  const jobOpts = opts.jobOptions ?? {};
  queue.process<FinalizeData>('finalize', async (data, ctx) => {
    const result = await h.finalize(data, ctx);
    const rec = data.recording;
    const thumbSource = rec.screen ?? rec.camera;
    await queue.add('composite', { recording: rec } satisfies CompositeData, jobOpts);
    if (thumbSource) {
      const thumb: ThumbnailData = { input: thumbSource, output: `${recordingBase(rec)}.jpg` };
      await queue.add('thumbnail', thumb, jobOpts);
    }
    return result;
  }, conc);
  queue.process<CompositeData>('composite', async (data, ctx) => {
    const result = await h.composite(data, ctx);
    const hls: HlsVodData = { input: result.output, dir: `${recordingBase(data.recording)}.hls` };
    await queue.add('hls-vod', hls, jobOpts);
    return result;
  }, conc);
  queue.process<HlsVodData>('hls-vod', (data, ctx) => h.hlsVod(data, ctx), conc);
  queue.process<ThumbnailData>('thumbnail', (data, ctx) => h.thumbnail(data, ctx), conc);
}

/** A recording ended: enqueue its finalize job (which chains the rest). Resolves to the finalize job's id. */
export function onRecordingFinished(queue: JobQueue, files: RecordingFiles, opts: JobOptions = {}): Promise<string> {
  return queue.add('finalize', { recording: files } satisfies FinalizeData, opts);
}
