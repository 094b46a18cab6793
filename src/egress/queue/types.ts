/** The one seam to the job queue (see DESIGN.md "Boundaries"): the server and `jobs/` workers use only this. */

export type JobState = 'waiting' | 'active' | 'completed' | 'failed' | 'delayed';

export interface JobOptions {
  /** Total tries before the job ends as failed (default: the queue's, 3). */
  attempts?: number;
  /** First retry delay in ms; doubles on each further retry (default: the queue's, 1000). */
  backoffMs?: number;
}

export interface JobContext {
  readonly id: string;
  /** 1 on the first try, 2 on the first retry, ... */
  readonly attempt: number;
  /** Aborted when the queue closes (or the job is cancelled); handlers must stop their work (kill ffmpeg). */
  readonly signal: AbortSignal;
  /** Report progress in percent (0..100). */
  progress(percent: number): void;
}

export type JobHandler<D = unknown, R = unknown> = (data: D, ctx: JobContext) => Promise<R>;

export interface JobInfo {
  id: string;
  name: string;
  state: JobState;
  progress: number;
  data: unknown;
  result?: unknown;
  failedReason?: string;
  attemptsMade: number;
}

export type JobEvent =
  | { type: 'progress'; id: string; name: string; progress: number }
  | { type: 'completed'; id: string; name: string; result: unknown }
  /** Emitted once, when the job has run out of attempts (tries that will be retried emit nothing). */
  | { type: 'failed'; id: string; name: string; reason: string };

export interface JobQueue {
  /** Enqueue a job; resolves to its id. Rejects with LecternError 'queue-unavailable' when the backend is down. */
  add(name: string, data: unknown, opts?: JobOptions): Promise<string>;
  /** Run jobs called `name` with at most `concurrency` at once in this process. */
  process<D = unknown, R = unknown>(name: string, handler: JobHandler<D, R>, opts?: { concurrency?: number }): void;
  getJob(id: string): Promise<JobInfo | undefined>;
  /** Subscribe to progress/completed/failed events of every job; returns the unsubscribe function. */
  onEvent(cb: (event: JobEvent) => void): () => void;
  /** Idempotent: stop taking jobs, abort running handlers, wait for them, release timers and connections. */
  close(reason?: string): Promise<void>;
}

export const DEFAULT_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;

/** Job names become queue names (BullMQ) and job-id prefixes: keep them simple. */
export function checkJobName(name: string): void {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new TypeError(`bad job name ${JSON.stringify(name)}`);
}

export function clampPercent(p: number): number {
  return Number.isFinite(p) ? Math.min(100, Math.max(0, p)) : 0;
}
