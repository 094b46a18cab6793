import type { Logger } from '../log.js';
import { JobIndex } from './jobs/jobIndex.js';
import { registerEgressJobs } from './jobs/register.js';
import { EGRESS_JOBS } from './jobs/types.js';
import { createJobQueue, InProcessQueue, type JobQueue } from './queue/index.js';
import { resume } from './jobs/carryOver.js';
import { PendingJobs } from './jobs/pendingJobs.js';
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
   * Without Redis: a file of unfinished jobs an earlier version wrote at shutdown, enqueued at start. The
   * recordings' own journal (PendingJobs, in the recordings folder) now keeps them over any restart.
   */
  carryOverFile?: string;
}

/** The server's egress side: the job queue, the recorder that feeds it, and the index of job states. */
export interface Egress {
  readonly queue: JobQueue;
  readonly recorder: Recorder;
  readonly jobs: JobIndex;
  /** Recordings whose jobs are not safe in the queue yet (the journal in `<recordings>/.pending-jobs`). */
  readonly pending: PendingJobs;
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
  // Every recording is written down before its jobs are enqueued, and while it is being recorded: the
  // in-process queue keeps nothing over a restart, so there an entry stays until its chain has ended; with
  // Redis, until finalize is queued. Entries an earlier run left (killed, or Redis down) are enqueued now.
  let pending: PendingJobs | undefined;
  const jobs = new JobIndex(queue, { log, onChange: (base, recJobs) => pending?.jobsChanged(base, recJobs) });
  pending = new PendingJobs({
    recordingsDir: opts.recordingsDir,
    queue,
    log,
    keepUntilDone: local !== undefined,
    onEnqueued: (files, jobId) => {
      log.info({ files, jobId }, 'recording enqueued');
      void jobs.track(jobId);
    },
  });
  if (local && opts.carryOverFile) resume(queue, opts.carryOverFile, log);
  pending.recover();
  const recorder = new Recorder({ recordingsDir: opts.recordingsDir, queue, pending, log, ...(events ? { events } : {}) });
  const journal = pending;
  let closing: Promise<void> | undefined;
  return {
    queue,
    recorder,
    jobs,
    pending: journal,
    jobStats,
    close: () =>
      (closing ??= (async () => {
        // Recordings end and are enqueued (or stay in the journal, for the next start); then the retries stop.
        await recorder.close();
        await journal.close();
        jobs.close();
        await queue.close('server shutting down');
      })()),
  };
}
