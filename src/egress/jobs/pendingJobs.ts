import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LecternError, errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { JobQueue, JobState } from '../queue/index.js';
import { recordingBase, recordingFiles } from './handlers.js';
import type { RecordingJobs } from './jobIndex.js';
import { onRecordingFinished } from './register.js';
import type { RecordingFiles } from './types.js';

/** The journal's folder inside the recordings folder (hidden: the listing and the file routes skip it). */
export const PENDING_DIR = '.pending-jobs';

/** One journal entry, `<PENDING_DIR>/<id>.json`. */
export interface PendingEntry {
  v: 1;
  /** `recording`: files still being written by the run that wrote the entry; `finished`: to be enqueued. */
  state: 'recording' | 'finished';
  /** One finalize job each (for `finished`, exactly one). Paths relative to the recordings folder. */
  recordings: RecordingFiles[];
  /** Failed enqueue attempts so far, and the last one's error. */
  attempts?: number;
  lastError?: { code: string; message: string };
}

export interface PendingJobsOptions {
  recordingsDir: string;
  queue: JobQueue;
  log: Logger;
  /**
   * true (the in-process queue, which keeps nothing over a restart): an entry stays until its whole job chain
   * has ended (see `jobsChanged`). false (BullMQ): it goes once finalize is in Redis, where the chain lives on.
   */
  keepUntilDone: boolean;
  /** A finalize job was enqueued for `files`. */
  onEnqueued?: (files: RecordingFiles, jobId: string) => void;
  /** First retry delay of a failed enqueue (default 1000 ms); doubles each time, up to `maxRetryMs` (30 s). */
  firstRetryMs?: number;
  maxRetryMs?: number;
}

interface Live {
  id: string;
  entry: PendingEntry;
  base: string;
  /** The finalize job's id once it is queued. */
  jobId?: string;
  timer?: NodeJS.Timeout;
}

const ID = /^[0-9a-z-]{1,80}$/;
const TERMINAL: ReadonlySet<JobState> = new Set(['completed', 'failed']);

/** A new journal id: sortable by time, unique. */
export function pendingId(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}`;
}

/**
 * The durable side of enqueuing a recording's jobs, so that nothing recorded is left without them:
 * - while a publisher is recorded, an entry names its files (`recording`): a server killed mid-recording
 *   finds it at the next start (`recover`) and enqueues their finalize;
 * - when its files are complete, an entry per recording (`finished`) is written before finalize is enqueued,
 *   and that enqueue is retried with backoff until the queue takes it (a Redis outage), never dropped;
 * - it is removed once the chain is safe: queued in Redis, or (in-process queue) ended.
 * The jobs are idempotent, so a recording enqueued twice (a crash between two steps) is only done twice.
 * Entries are 0600 in a 0700 folder. One server per recordings folder: `recover` takes every entry it did not
 * write itself as left by an earlier run.
 */
export class PendingJobs {
  readonly dir: string;
  private readonly live = new Map<string, Live>();
  /** Ids of `recording` entries this process writes (never recovered by it). */
  private readonly recording = new Set<string>();
  private readonly attempts = new Set<Promise<void>>();
  private readonly firstRetryMs: number;
  private readonly maxRetryMs: number;
  private readonly log: Logger;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly opts: PendingJobsOptions) {
    this.dir = path.join(opts.recordingsDir, PENDING_DIR);
    this.firstRetryMs = opts.firstRetryMs ?? 1000;
    this.maxRetryMs = opts.maxRetryMs ?? 30_000;
    this.log = opts.log.child({ part: 'pending-jobs' }); // its parent names the component (egress)
  }

  /** Entries waiting for their chain (tests, metrics). */
  get size(): number {
    return this.live.size;
  }

  /** A publisher's files so far (some still being written): kept on disk until `finished(id, ...)`. */
  recordingProgress(id: string, recordings: RecordingFiles[]): void {
    if (!ID.test(id) || this.closed) return;
    this.recording.add(id);
    this.write(id, { v: 1, state: 'recording', recordings });
  }

  /**
   * A publisher's files are complete: one entry per recording, each enqueued (retried until it is), then the
   * `recording` entry `id` (if any) goes.
   */
  finished(id: string | undefined, recordings: RecordingFiles[]): void {
    for (const rec of recordings) {
      if (recordingFiles(rec).length === 0) continue;
      this.add({ v: 1, state: 'finished', recordings: [rec] });
    }
    if (id !== undefined && ID.test(id)) {
      this.recording.delete(id);
      this.remove(id);
    }
  }

  /**
   * At start: every entry an earlier run left. `recording` ones (a killed server) become `finished` ones;
   * each is enqueued. An unreadable entry is set aside (`.bad`) and logged.
   */
  recover(): void {
    let names: string[];
    try {
      names = fs.readdirSync(this.dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') this.log.error({ err: errorMessage(e), dir: this.dir }, 'cannot read the pending jobs');
      return;
    }
    let found = 0;
    for (const name of names.sort()) {
      if (!name.endsWith('.json')) continue;
      const id = name.slice(0, -'.json'.length);
      if (!ID.test(id) || this.recording.has(id) || this.live.has(id)) continue;
      const file = path.join(this.dir, name);
      let entry: PendingEntry | undefined;
      try {
        entry = parseEntry(JSON.parse(fs.readFileSync(file, 'utf8')));
      } catch {
        entry = undefined;
      }
      if (!entry) {
        this.log.error({ file }, 'unreadable pending-jobs entry; set aside');
        try {
          fs.renameSync(file, `${file}.bad`);
        } catch {
          // gone meanwhile
        }
        continue;
      }
      found++;
      if (entry.state === 'recording') this.finished(id, entry.recordings);
      else this.track(id, entry);
    }
    if (found > 0) this.log.info({ entries: found }, 'enqueuing the jobs of recordings left by the last run');
  }

  /** The job index saw a job of `base` change: with keepUntilDone, an entry whose chain has ended goes. */
  jobsChanged(base: string, jobs: RecordingJobs): void {
    if (!this.opts.keepUntilDone) return;
    for (const l of this.live.values()) {
      if (l.base !== base || l.jobId === undefined || !chainEnded(l.entry.recordings[0]!, jobs)) continue;
      this.live.delete(l.id);
      this.remove(l.id);
    }
  }

  /** Idempotent: stops the retries (their entries stay on disk for the next start) after the attempts under way. */
  close(): Promise<void> {
    return (this.closing ??= (async () => {
      this.closed = true;
      for (const l of this.live.values()) clearTimeout(l.timer);
      while (this.attempts.size > 0) await Promise.allSettled([...this.attempts]);
      for (const l of this.live.values()) clearTimeout(l.timer);
    })());
  }

  private add(entry: PendingEntry): void {
    const id = pendingId();
    this.write(id, entry);
    this.track(id, entry);
  }

  private track(id: string, entry: PendingEntry): void {
    const rec = entry.recordings[0]!;
    let base: string;
    try {
      base = recordingBase(rec);
    } catch {
      this.remove(id);
      return;
    }
    const l: Live = { id, entry, base };
    this.live.set(id, l);
    this.attempt(l);
  }

  private attempt(l: Live): void {
    l.timer = undefined;
    if (this.closed) return;
    const rec = l.entry.recordings[0]!;
    const p = onRecordingFinished(this.opts.queue, rec).then(
      (jobId) => {
        l.jobId = jobId;
        if (!this.opts.keepUntilDone) {
          this.live.delete(l.id);
          this.remove(l.id);
        }
        this.opts.onEnqueued?.(rec, jobId);
      },
      (e: unknown) => {
        const attempts = (l.entry.attempts ?? 0) + 1;
        const code = e instanceof LecternError ? e.code : 'enqueue-failed';
        l.entry = { ...l.entry, attempts, lastError: { code, message: errorMessage(e) } };
        this.write(l.id, l.entry);
        if (this.closed) {
          this.log.warn({ files: rec, err: errorMessage(e) }, 'cannot enqueue a finished recording; kept for the next start');
          return;
        }
        const delay = Math.min(this.maxRetryMs, this.firstRetryMs * 2 ** Math.min(attempts - 1, 20));
        this.log.warn({ files: rec, attempts, delay, err: errorMessage(e) }, 'cannot enqueue a finished recording; will retry');
        l.timer = setTimeout(() => this.attempt(l), delay);
      },
    );
    this.attempts.add(p);
    void p.finally(() => this.attempts.delete(p));
  }

  /** Writes an entry (temp file renamed over it). A failure is logged: the jobs are still enqueued from memory. */
  private write(id: string, entry: PendingEntry): void {
    const file = path.join(this.dir, `${id}.json`);
    const tmp = path.join(this.dir, `.${id}.${process.pid}.tmp`);
    try {
      fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      fs.writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
      fs.renameSync(tmp, file);
    } catch (e) {
      this.log.error({ err: errorMessage(e), file }, 'cannot write a pending-jobs entry: its jobs are not kept over a restart');
      fs.rmSync(tmp, { force: true });
    }
  }

  private remove(id: string): void {
    try {
      fs.rmSync(path.join(this.dir, `${id}.json`), { force: true });
    } catch (e) {
      this.log.error({ err: errorMessage(e), id }, 'cannot remove a pending-jobs entry');
    }
  }
}

/** Whether a recording's chain (finalize, then composite and thumbnail, then hls-vod) has ended, well or not. */
export function chainEnded(rec: RecordingFiles, jobs: RecordingJobs): boolean {
  const ended = (name: keyof RecordingJobs) => {
    const s = jobs[name];
    return s !== undefined && TERMINAL.has(s.state);
  };
  if (!ended('finalize')) return false;
  if (jobs.finalize!.state === 'failed') return true;
  if (!ended('composite')) return false;
  if (jobs.composite!.state === 'completed' && !ended('hls-vod')) return false;
  if ((rec.screen ?? rec.camera) !== undefined && !ended('thumbnail')) return false;
  return true;
}

const isPath = (v: unknown): v is string => typeof v === 'string' && v !== '';

function parseRecording(v: unknown): RecordingFiles | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const out: RecordingFiles = {};
  for (const k of ['screen', 'camera', 'audio', 'base'] as const) {
    if (r[k] === undefined) continue;
    if (!isPath(r[k])) return undefined;
    out[k] = r[k];
  }
  return recordingFiles(out).length > 0 ? out : undefined;
}

/** A journal entry from its JSON, or undefined when it is not one. Paths are checked again by the jobs. */
export function parseEntry(v: unknown): PendingEntry | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const e = v as Record<string, unknown>;
  if (e.v !== 1 || (e.state !== 'recording' && e.state !== 'finished') || !Array.isArray(e.recordings)) return undefined;
  const recordings = e.recordings.map(parseRecording);
  if (recordings.some((r) => r === undefined)) return undefined;
  if (e.state === 'finished' && recordings.length !== 1) return undefined;
  return { v: 1, state: e.state, recordings: recordings as RecordingFiles[], ...(typeof e.attempts === 'number' ? { attempts: e.attempts } : {}) };
}
