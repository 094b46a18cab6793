import { Counter, Gauge, Histogram, type Metric } from 'prom-client';
import type { JobEvent, JobInfo, JobOptions, JobQueue, JobHandler } from '../../egress/queue/index.js';

/** Jobs followed at once; beyond this the oldest are forgotten (their end is then not timed). */
const MAX_OUTSTANDING = 10_000;

/**
 * Egress job metrics, learnt at the JobQueue seam: `observe(queue)` returns the queue to use instead, which
 * notes every job this process adds; the queue's events end them. A job added elsewhere (a worker chaining
 * over Redis) is followed from its first progress event. Depth is therefore "jobs enqueued or running that
 * this server knows of", exact with the in-process queue. The metrics are created unregistered: the
 * server's metrics registry adopts them with `metrics()`.
 */
export class JobStats {
  private readonly outstanding = new Map<string, { name: string; since: number }>();
  /** Jobs that ended, most recent last: a job may end before its `add` resolves here (a handler that fails at once). */
  private readonly recentlyEnded = new Set<string>();
  private readonly ended = new Counter({
    name: 'lectern_jobs_total',
    help: 'Egress jobs that ended, by job name and result (failed = out of attempts)',
    labelNames: ['name', 'result'] as const,
    registers: [],
  });
  private readonly duration = new Histogram({
    name: 'lectern_job_duration_seconds',
    help: 'Time from enqueue (or first sight) to the end of an egress job, retries included',
    labelNames: ['name', 'result'] as const,
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers: [],
  });
  private readonly ffmpegFailures = new Counter({
    name: 'lectern_ffmpeg_failures_total',
    help: 'Egress jobs that failed for good with an ffmpeg error',
    registers: [],
  });
  private readonly depth: Gauge<'name'>;

  constructor(private readonly now: () => number = Date.now) {
    const outstanding = this.outstanding;
    this.depth = new Gauge({
      name: 'lectern_queue_depth',
      help: 'Egress jobs waiting or running that this server knows of, by job name',
      labelNames: ['name'] as const,
      registers: [],
      collect() {
        this.reset();
        const byName = new Map<string, number>();
        for (const { name } of outstanding.values()) byName.set(name, (byName.get(name) ?? 0) + 1);
        for (const [name, n] of byName) this.set({ name }, n);
      },
    });
  }

  metrics(): Metric[] {
    return [this.ended, this.duration, this.ffmpegFailures, this.depth];
  }

  /** The queue to hand to the recorder and the job handlers: adds are noted, everything else passes through. */
  observe(queue: JobQueue): JobQueue {
    queue.onEvent((e) => this.onEvent(e));
    const add = async (name: string, data: unknown, opts?: JobOptions): Promise<string> => {
      const id = await queue.add(name, data, opts);
      this.see(id, name);
      return id;
    };
    return {
      add,
      process: <D, R>(name: string, handler: JobHandler<D, R>, opts?: { concurrency?: number }) =>
        queue.process(name, handler, opts),
      getJob: (id: string): Promise<JobInfo | undefined> => queue.getJob(id),
      onEvent: (cb) => queue.onEvent(cb),
      close: (reason) => queue.close(reason),
    };
  }

  private see(id: string, name: string): void {
    if (this.outstanding.has(id) || this.recentlyEnded.has(id)) return;
    this.outstanding.set(id, { name, since: this.now() });
    if (this.outstanding.size > MAX_OUTSTANDING) {
      const oldest = this.outstanding.keys().next().value;
      if (oldest !== undefined) this.outstanding.delete(oldest);
    }
  }

  private onEvent(e: JobEvent): void {
    if (e.type === 'progress') return this.see(e.id, e.name);
    const result = e.type;
    this.ended.inc({ name: e.name, result });
    this.recentlyEnded.add(e.id);
    if (this.recentlyEnded.size > 1000) this.recentlyEnded.delete(this.recentlyEnded.values().next().value!);
    const seen = this.outstanding.get(e.id);
    if (seen) {
      this.outstanding.delete(e.id);
      this.duration.observe({ name: e.name, result }, Math.max(0, this.now() - seen.since) / 1000);
    }
    if (e.type === 'failed' && /\bffmpeg\b/i.test(e.reason)) this.ffmpegFailures.inc();
  }
}
