import type { JobQueue } from '../queue/index.js';
import { runLiveHlsJob, type LiveHlsJobOptions } from './LiveHlsJob.js';
import { LIVE_HLS_JOB, type LiveHlsData } from './types.js';

/**
 * Registers the live-hls job on `queue`. Live jobs last as long as a lecture, so each process runs up to
 * `concurrency` of them at once (default 4), independent of the CPU-bound egress jobs.
 */
export function registerLiveHlsJob(queue: JobQueue, opts: LiveHlsJobOptions & { concurrency?: number }): void {
  queue.process<LiveHlsData>(LIVE_HLS_JOB, (data, ctx) => runLiveHlsJob(data, ctx.signal, opts), {
    concurrency: opts.concurrency ?? 4,
  });
}
