import type { Logger } from '../log.js';
import { JobIndex } from './jobs/jobIndex.js';
import { registerEgressJobs } from './jobs/register.js';
import { EGRESS_JOBS } from './jobs/types.js';
import { createJobQueue, InProcessQueue, type JobQueue } from './queue/index.js';
import { carryOver, resume } from './jobs/carryOver.js';
import { Recorder } from './recorder/Recorder.js';
import { JobStats } from '../web/metrics/JobStats.js';
import type { EventBus } from '../webhooks/events.js';
import { forwardJobEvents } from '../webhooks/jobEvents.js';
import { registerLiveHlsJob } from './live/register.js';
import { LIVE_HLS_JOB } from './live/types.js';
import type { WhepIce } from './live/WhepSubscriber.js';

export interface EgressOptions {
  recordingsDir: string;
  /** A Redis URL: jobs go to BullMQ and `npm run worker` processes run them. Without it they run here. */
  redis?: string;
  ffmpegPath?: string;
  log: Logger;
  /** recording_* and job_* events go here (webhooks). */
  events?: EventBus;
  /** ICE settings of the in-process live-hls worker's WHEP peer. */
  liveIce?: () => WhepIce;
  /**
   * Without Redis: where the egress jobs still unfinished at shutdown are written, to be enqueued again at
   * the next start (the in-process queue itself keeps nothing).
   */
  carryOverFile?: string;
}

/** The server's egress side: the job queue, the recorder that feeds it, and the index of job states. */
export interface Egress {
  readonly queue: JobQueue;
  readonly recorder: Recorder;
  readonly jobs: JobIndex;
  /** Queue depth, job durations and failures (metrics). */
  readonly jobStats: JobStats;
  /** Finishes every recording (files complete and enqueued), then closes the queue. */
  close(): Promise<void>;
}

export function createEgress(opts: EgressOptions): Egress {
  const log = opts.log.child({ component: 'egress' });
  // With Redis, the workers run the jobs; this process enqueues and follows their events (for the job index).
  const jobStats = new JobStats();
  const local = opts.redis ? undefined : new InProcessQueue({ log });
  const queue = jobStats.observe(local ?? createJobQueue({ redis: opts.redis, names: [...EGRESS_JOBS, LIVE_HLS_JOB], log }));
  const events = opts.events;
  if (events) forwardJobEvents(queue, events);
  if (!opts.redis) {
    registerEgressJobs(queue, { recordingsDir: opts.recordingsDir, ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}) });
    registerLiveHlsJob(queue, {
      recordingsDir: opts.recordingsDir,
      log,
      ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}),
      ...(opts.liveIce ? { ice: opts.liveIce } : {}),
    });
  }
  const jobs = new JobIndex(queue, { log });
  if (local && opts.carryOverFile) resume(queue, opts.carryOverFile, log);
  const recorder = new Recorder({
    recordingsDir: opts.recordingsDir,
    queue,
    log,
    ...(events ? { events } : {}),
    onFinished: (files, jobId) => {
      log.info({ files, jobId }, 'recording finished');
      if (jobId) void jobs.track(jobId);
    },
  });
  let closing: Promise<void> | undefined;
  return {
    queue,
    recorder,
    jobs,
    jobStats,
    close: () =>
      (closing ??= (async () => {
        await recorder.close();
        jobs.close();
        if (local && opts.carryOverFile) carryOver(local, opts.carryOverFile, log);
        await queue.close('server shutting down');
      })()),
  };
}
