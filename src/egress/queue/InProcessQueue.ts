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
} from './types.js';

export interface InProcessQueueOptions {
  attempts?: number;
  backoffMs?: number;
  log?: Logger;
}

interface Job {
  info: JobInfo;
  attempts: number;
  backoffMs: number;
}

interface Worker {
  handler: JobHandler<unknown, unknown>;
  concurrency: number;
  active: number;
}

/**
 * The embedded default: same semantics as BullMqQueue (attempts, exponential backoff, progress, events),
 * no Redis. Jobs live in memory and are lost with the process. Every timer is owned and cleared by close().
 */
export class InProcessQueue implements JobQueue {
  private readonly jobs = new Map<string, Job>();
  private readonly waiting = new Map<string, Job[]>();
  private readonly workers = new Map<string, Worker>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly running = new Set<Promise<void>>();
  private readonly listeners = new Set<(e: JobEvent) => void>();
  private readonly abort = new AbortController();
  private readonly attempts: number;
  private readonly backoffMs: number;
  private readonly log: Logger;
  private nextId = 1;
  private closing: Promise<void> | undefined;

  constructor(opts: InProcessQueueOptions = {}) {
    this.attempts = opts.attempts ?? DEFAULT_ATTEMPTS;
    this.backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.log = (opts.log ?? silentLogger).child({ queue: 'in-process' });
  }

  async add(name: string, data: unknown, opts: JobOptions = {}): Promise<string> {
    checkJobName(name);
    if (this.closing) throw new LecternError('queue-unavailable', 'the job queue is closed');
    const id = `${name}:${this.nextId++}`;
    const job: Job = {
      info: { id, name, state: 'waiting', progress: 0, data, attemptsMade: 0 },
      attempts: Math.max(1, opts.attempts ?? this.attempts),
      backoffMs: opts.backoffMs ?? this.backoffMs,
    };
    this.jobs.set(id, job);
    this.enqueue(job);
    return id;
  }

  process<D, R>(name: string, handler: JobHandler<D, R>, opts: { concurrency?: number } = {}): void {
    checkJobName(name);
    if (this.workers.has(name)) throw new LecternError('queue-duplicate-worker', `jobs "${name}" already have a handler`);
    this.workers.set(name, {
      handler: handler as JobHandler<unknown, unknown>,
      concurrency: Math.max(1, opts.concurrency ?? 1),
      active: 0,
    });
    this.pump(name);
  }

  async getJob(id: string): Promise<JobInfo | undefined> {
    const job = this.jobs.get(id);
    return job && { ...job.info };
  }

  /** The jobs not finished yet (waiting, delayed or running), to carry them over a restart. */
  unfinished(): { name: string; data: unknown }[] {
    return [...this.jobs.values()]
      .filter((j) => j.info.state !== 'completed' && j.info.state !== 'failed')
      .map((j) => ({ name: j.info.name, data: j.info.data }));
  }

  onEvent(cb: (event: JobEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  close(reason = 'queue closed'): Promise<void> {
    this.closing ??= (async () => {
      for (const t of this.timers) clearTimeout(t);
      this.timers.clear();
      this.abort.abort(new LecternError('aborted', reason));
      await Promise.allSettled([...this.running]);
      this.listeners.clear();
    })();
    return this.closing;
  }

  private enqueue(job: Job): void {
    job.info.state = 'waiting';
    const list = this.waiting.get(job.info.name) ?? [];
    list.push(job);
    this.waiting.set(job.info.name, list);
    this.pump(job.info.name);
  }

  private pump(name: string): void {
    const worker = this.workers.get(name);
    const list = this.waiting.get(name);
    while (!this.closing && worker && list && list.length > 0 && worker.active < worker.concurrency) {
      const job = list.shift()!;
      worker.active++;
      const run = this.run(job, worker).finally(() => {
        worker.active--;
        this.running.delete(run);
        this.pump(name);
      });
      this.running.add(run);
    }
  }

  private async run(job: Job, worker: Worker): Promise<void> {
    const info = job.info;
    info.state = 'active';
    info.attemptsMade++;
    const attempt = info.attemptsMade;
    const signal = this.abort.signal;
    try {
      const result = await worker.handler(info.data, {
        id: info.id,
        attempt,
        signal,
        progress: (percent) => {
          if (info.state !== 'active' || info.attemptsMade !== attempt) return;
          info.progress = clampPercent(percent);
          this.emit({ type: 'progress', id: info.id, name: info.name, progress: info.progress });
        },
      });
      info.state = 'completed';
      info.result = result;
      info.failedReason = undefined;
      this.emit({ type: 'completed', id: info.id, name: info.name, result });
    } catch (err) {
      const reason = errorMessage(err);
      info.failedReason = reason;
      if (attempt < job.attempts && !this.closing) {
        const delay = job.backoffMs * 2 ** (attempt - 1);
        this.log.info({ job: info.id, attempt, delay, reason }, 'job failed, will retry');
        info.state = 'delayed';
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.enqueue(job);
        }, delay);
        this.timers.add(t);
      } else {
        this.log.warn({ job: info.id, attempt, reason }, 'job failed');
        info.state = 'failed';
        this.emit({ type: 'failed', id: info.id, name: info.name, reason });
      }
    }
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
