import { Queue, QueueEvents, Worker, type ConnectionOptions, type Job } from 'bullmq';
import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import { LecternError, errorMessage } from '../../errors.js';
import {
  DEFAULT_ATTEMPTS,
  DEFAULT_BACKOFF_MS,
  checkJobName,
  clampPercent,
  type JobEvent,
  type JobHandler,
  type JobInfo,
  type JobOptions,
  type JobQueue,
  type JobState,
} from './types.js';

export interface BullMqQueueOptions {
  /** redis://[user:pass@]host:port[/db] */
  redis: string;
  /** Redis key prefix; tests use a unique one so runs never collide (default 'lectern'). */
  prefix?: string;
  attempts?: number;
  backoffMs?: number;
  /** How long `add` may wait for Redis before rejecting with 'queue-unavailable' (default 5000 ms). */
  addTimeoutMs?: number;
  /** How long close() waits for each group of BullMQ clients before giving up on them (default 5000 ms). */
  closeTimeoutMs?: number;
  /** Job names whose events onEvent should see even before this process adds or processes one. */
  names?: string[];
  log?: Logger;
}

/** Reconnect forever, backing off to at most 2 s: a Redis outage is survived, never fatal. */
const retryStrategy = (times: number): number => Math.min(100 * times, 2000);

/**
 * JobQueue over BullMQ: one BullMQ queue per job name (so each kind scales with its own concurrency),
 * a Worker per `process`, QueueEvents for progress/completed/failed. Job ids are `<name>:<bullmq id>`.
 * Every connection error is caught and logged (throttled); `add` rejects with 'queue-unavailable' while
 * Redis is unreachable.
 */
export class BullMqQueue implements JobQueue {
  private readonly queues = new Map<string, Queue>();
  private readonly events = new Map<string, QueueEvents>();
  private readonly workers = new Map<string, Worker>();
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly abort = new AbortController();
  private readonly lastErrorLog = new Map<string, number>();
  private readonly prefix: string;
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly addTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly log: Logger;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: BullMqQueueOptions) {
    this.prefix = opts.prefix ?? 'lectern';
    this.attempts = opts.attempts ?? DEFAULT_ATTEMPTS;
    this.backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.addTimeoutMs = opts.addTimeoutMs ?? 5000;
    this.closeTimeoutMs = opts.closeTimeoutMs ?? 5000;
    this.log = (opts.log ?? silentLogger).child({ queue: 'bullmq', prefix: this.prefix });
    for (const name of opts.names ?? []) this.queue(name);
  }

  async add(name: string, data: unknown, opts: JobOptions = {}): Promise<string> {
    checkJobName(name);
    if (this.closing) throw new LecternError('queue-unavailable', 'the job queue is closed');
    const queue = this.queue(name);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new LecternError('queue-unavailable', `job queue (Redis) did not answer within ${this.addTimeoutMs} ms`)),
        this.addTimeoutMs,
      );
    });
    try {
      const job = await Promise.race([
        queue.add(name, data, {
          attempts: Math.max(1, opts.attempts ?? this.attempts),
          backoff: { type: 'exponential', delay: opts.backoffMs ?? this.backoffMs },
          removeOnComplete: { count: 1000 },
          removeOnFail: { count: 1000 },
        }),
        timeout,
      ]);
      return `${name}:${job.id}`;
    } catch (err) {
      if (err instanceof LecternError) throw err;
      throw new LecternError('queue-unavailable', `job queue (Redis) unavailable: ${errorMessage(err)}`, { cause: err });
    } finally {
      clearTimeout(timer);
    }
  }

  process<D, R>(name: string, handler: JobHandler<D, R>, opts: { concurrency?: number } = {}): void {
    checkJobName(name);
    if (this.closing) throw new LecternError('queue-unavailable', 'the job queue is closed');
    if (this.workers.has(name)) throw new LecternError('queue-duplicate-worker', `jobs "${name}" already have a handler`);
    this.queue(name); // for events
    const worker = new Worker(
      name,
      async (job: Job, _token?: string, signal?: AbortSignal) => {
        const attempt = job.attemptsMade + 1;
        const signals = signal ? [signal, this.abort.signal] : [this.abort.signal];
        return handler(job.data as D, {
          id: `${name}:${job.id}`,
          attempt,
          signal: AbortSignal.any(signals),
          progress: (percent) => {
            job.updateProgress(clampPercent(percent)).catch((err) => this.logError(`progress:${name}`, err));
          },
        });
      },
      {
        connection: this.connection(true),
        prefix: this.prefix,
        concurrency: Math.max(1, opts.concurrency ?? 1),
      },
    );
    worker.on('error', (err) => this.logError(`worker:${name}`, err));
    worker.on('failed', (job, err) => {
      this.log.info({ job: job && `${name}:${job.id}`, attempt: job?.attemptsMade, reason: errorMessage(err) }, 'job attempt failed');
    });
    this.workers.set(name, worker);
  }

  async getJob(id: string): Promise<JobInfo | undefined> {
    const sep = id.indexOf(':');
    if (sep <= 0) return undefined;
    const name = id.slice(0, sep);
    try {
      checkJobName(name);
    } catch {
      return undefined;
    }
    const queue = this.queue(name);
    const bullId = id.slice(sep + 1);
    // State first, then the job: a job read after it was seen completed carries its result.
    const state = mapState(await queue.getJobState(bullId));
    const job = state && (await queue.getJob(bullId));
    if (!state || !job) return undefined;
    const info: JobInfo = {
      id,
      name,
      state,
      progress: typeof job.progress === 'number' ? job.progress : 0,
      data: job.data,
      attemptsMade: job.attemptsMade,
    };
    if (state === 'completed') info.result = job.returnvalue;
    if (job.failedReason) info.failedReason = job.failedReason;
    return info;
  }

  onEvent(cb: (event: JobEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  close(reason = 'queue closed'): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort(new LecternError('aborted', reason));
      for (const w of this.workers.values()) w.cancelAllJobs(reason);
      // Workers first (they wait for their running handlers), then events and producers. BullMQ's close
      // never resolves for a client that never reached Redis (it still stops reconnecting): bound the wait.
      await this.bounded([...this.workers.values()].map((w) => w.close()));
      await this.bounded([...this.events.values()].map((e) => e.close()));
      await this.bounded([...this.queues.values()].map((q) => q.close()));
      this.listeners.clear();
    })();
    return this.closing;
  }

  private async bounded(closing: Promise<void>[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(() => resolve('expired'), this.closeTimeoutMs);
    });
    const r = await Promise.race([Promise.allSettled(closing), expired]);
    clearTimeout(timer);
    if (r === 'expired') this.log.warn({ ms: this.closeTimeoutMs }, 'job queue close timed out (Redis unreachable?)');
  }

  private queue(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection(false), prefix: this.prefix });
      queue.on('error', (err) => this.logError(`queue:${name}`, err));
      this.queues.set(name, queue);
      // Read the event stream from now (stream ids are Redis ms timestamps), not from whenever the
      // subscription happens to start: a job that finishes before then would lose its event.
      const events = new QueueEvents(name, {
        connection: this.connection(true),
        prefix: this.prefix,
        lastEventId: `${Date.now() - 1}-0`,
      });
      events.on('error', (err) => this.logError(`events:${name}`, err));
      events.on('progress', ({ jobId, data }) => {
        if (typeof data === 'number') this.emit({ type: 'progress', id: `${name}:${jobId}`, name, progress: data });
      });
      events.on('completed', ({ jobId, returnvalue }) =>
        this.emit({ type: 'completed', id: `${name}:${jobId}`, name, result: returnvalue }),
      );
      events.on('failed', ({ jobId, failedReason }) =>
        this.emit({ type: 'failed', id: `${name}:${jobId}`, name, reason: failedReason }),
      );
      this.events.set(name, events);
    }
    return queue;
  }

  /** Producers fail fast while disconnected; blocking clients (workers, events) wait forever, as BullMQ requires. */
  private connection(blocking: boolean): ConnectionOptions {
    return blocking
      ? { url: this.opts.redis, maxRetriesPerRequest: null, retryStrategy }
      : { url: this.opts.redis, maxRetriesPerRequest: 1, enableOfflineQueue: false, retryStrategy };
  }

  /** ioredis reports every failed reconnect: log each component's errors at most every 10 s. */
  private logError(what: string, err: unknown): void {
    const now = Date.now();
    if (now - (this.lastErrorLog.get(what) ?? 0) < 10_000) return;
    this.lastErrorLog.set(what, now);
    this.log.warn({ what, err: errorMessage(err) }, 'job queue connection error');
  }

  private emit(e: JobEvent): void {
    for (const cb of this.listeners) {
      try {
        cb(e);
      } catch (err) {
        this.log.error({ err }, 'job event listener threw');
      }
    }
  }
}

function mapState(s: string): JobState | undefined {
  switch (s) {
    case 'completed':
    case 'failed':
    case 'active':
    case 'delayed':
      return s;
    case 'waiting':
    case 'wait':
    case 'prioritized':
    case 'waiting-children':
      return 'waiting';
    default:
      return undefined;
  }
}
