import type { Logger } from '../../log.js';
import { silentLogger } from '../../log.js';
import type { JobEvent, JobInfo, JobQueue, JobState } from '../queue/index.js';
import { recordingBase, recordingFiles } from './handlers.js';
import { EGRESS_JOBS, type EgressJobName, type RecordingFiles } from './types.js';

/** What the recordings page shows of one job. */
export interface JobStatus {
  state: JobState;
  progress: number;
  failedReason?: string;
}

/** The latest status of each job of one recording, by job name. */
export type RecordingJobs = Partial<Record<EgressJobName, JobStatus>>;

/** What the web layer reads (src/web/recordings): a small interface so tests can hand in their own. */
export interface JobStatusSource {
  /** Jobs of the recording whose outputs are `<base>.*` (relative to the recordings folder). */
  jobsOf(base: string): RecordingJobs;
  /** The base of the recording a file (relative to the recordings folder) belongs to, when a job named it. */
  baseOf(file: string): string | undefined;
}

export interface JobIndexOptions {
  /** Recordings remembered at most (the least recently updated go first; default 1000). */
  maxRecordings?: number;
  /** A recording whose jobs all ended is forgotten this long after its last update (default 24 h). */
  forgetAfterMs?: number;
  now?: () => number;
  log?: Logger;
  /** Called after a job of the recording `base` changed state, with that recording's jobs. */
  onChange?: (base: string, jobs: RecordingJobs) => void;
}

interface Entry {
  jobs: RecordingJobs;
  files: string[];
  updated: number;
}

interface Learnt {
  name: EgressJobName;
  base: string;
  files: string[];
}

const TERMINAL: ReadonlySet<JobState> = new Set(['completed', 'failed']);
/** Job ids remembered (to map later events to their recording) at most. */
const MAX_IDS = 10_000;

/**
 * The state of the egress jobs of each recording, learnt from the queue's events: the first time a job id
 * shows up, its data is read once with `queue.getJob` to find which recording it works on. It sees jobs
 * added and chained by other processes (BullMQ workers) as long as their events reach this queue object.
 * Memory is bounded: at most `maxRecordings` recordings, and finished ones are forgotten after a while.
 */
export class JobIndex implements JobStatusSource {
  private readonly recordings = new Map<string, Entry>();
  private readonly fileToBase = new Map<string, string>();
  /** id -> what it is about; `null` while getJob is under way, `false` when it is not an egress job. */
  private readonly ids = new Map<string, Learnt | null | false>();
  private readonly pending = new Map<string, JobEvent[]>();
  private readonly learning = new Map<string, Promise<void>>();
  private readonly unsubscribe: () => void;
  private readonly maxRecordings: number;
  private readonly forgetAfterMs: number;
  private readonly now: () => number;
  private readonly log: Logger;
  private readonly onChange: ((base: string, jobs: RecordingJobs) => void) | undefined;
  private closed = false;

  constructor(
    private readonly queue: JobQueue,
    opts: JobIndexOptions = {},
  ) {
    this.maxRecordings = Math.max(1, opts.maxRecordings ?? 1000);
    this.forgetAfterMs = opts.forgetAfterMs ?? 24 * 3600_000;
    this.now = opts.now ?? Date.now;
    this.log = (opts.log ?? silentLogger).child({ part: 'job-index' }); // its parent names the component (egress)
    this.onChange = opts.onChange;
    this.unsubscribe = queue.onEvent((e) => this.onEvent(e));
  }

  /** A job this process just added: learn it now, so it shows (as waiting) before its first event. */
  track(jobId: string): Promise<void> {
    if (this.ids.get(jobId)) return Promise.resolve();
    return this.learn(jobId);
  }

  jobsOf(base: string): RecordingJobs {
    const entry = this.recordings.get(base);
    if (!entry) return {};
    const out: RecordingJobs = {};
    for (const [name, s] of Object.entries(entry.jobs) as [EgressJobName, JobStatus][]) out[name] = { ...s };
    return out;
  }

  baseOf(file: string): string | undefined {
    return this.fileToBase.get(file);
  }

  /** How many recordings are remembered (for tests and metrics). */
  get size(): number {
    return this.recordings.size;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.pending.clear();
  }

  private onEvent(e: JobEvent): void {
    if (this.closed || !(EGRESS_JOBS as readonly string[]).includes(e.name)) return;
    const known = this.ids.get(e.id);
    if (known === false) return;
    if (known) return this.apply(known, statusFromEvent(e));
    const queued = this.pending.get(e.id) ?? [];
    queued.push(e);
    this.pending.set(e.id, queued);
    if (known === undefined) void this.learn(e.id);
  }

  /** Reads the job once; concurrent callers share the read. */
  private learn(id: string): Promise<void> {
    let p = this.learning.get(id);
    if (!p) {
      p = this.read(id).finally(() => this.learning.delete(id));
      this.learning.set(id, p);
    }
    return p;
  }

  private async read(id: string): Promise<void> {
    this.remember(id, null);
    let info: JobInfo | undefined;
    try {
      info = await this.queue.getJob(id);
    } catch (err) {
      this.log.warn({ job: id, err }, 'could not read a job');
    }
    if (this.closed) return;
    const learnt = info && describeJob(info);
    const queued = this.pending.get(id) ?? [];
    this.pending.delete(id);
    if (!learnt || !info) {
      // Unknown or unreadable: forget it, so a later event tries again (a transient Redis error).
      this.ids.delete(id);
      if (info) this.remember(id, false);
      return;
    }
    this.remember(id, learnt);
    this.apply(learnt, { state: info.state, progress: info.progress, ...(info.failedReason && info.state === 'failed' ? { failedReason: info.failedReason } : {}) });
    for (const e of queued) this.apply(learnt, statusFromEvent(e));
  }

  private remember(id: string, value: Learnt | null | false): void {
    this.ids.delete(id);
    this.ids.set(id, value);
    while (this.ids.size > MAX_IDS) {
      const oldest = this.ids.keys().next().value as string;
      this.ids.delete(oldest);
      this.pending.delete(oldest);
    }
  }

  private apply(learnt: Learnt, status: JobStatus): void {
    const now = this.now();
    let entry = this.recordings.get(learnt.base);
    if (entry) this.recordings.delete(learnt.base); // re-inserted below: the Map's order is recency
    entry ??= { jobs: {}, files: [], updated: now };
    const prev = entry.jobs[learnt.name];
    // A finished job's state only changes to another end state (a newer run of the same name).
    if (!prev || !TERMINAL.has(prev.state) || TERMINAL.has(status.state)) entry.jobs[learnt.name] = status;
    entry.updated = now;
    for (const f of learnt.files) {
      if (!entry.files.includes(f)) entry.files.push(f);
      this.fileToBase.set(f, learnt.base);
    }
    this.recordings.set(learnt.base, entry);
    this.prune(now);
    if (!this.onChange) return;
    try {
      this.onChange(learnt.base, this.jobsOf(learnt.base));
    } catch (err) {
      this.log.error({ err }, 'job index listener threw');
    }
  }

  private prune(now: number): void {
    for (const [base, entry] of this.recordings) {
      const finished = Object.values(entry.jobs).every((s) => TERMINAL.has(s.state));
      const tooMany = this.recordings.size > this.maxRecordings;
      if (!tooMany && !(finished && now - entry.updated > this.forgetAfterMs)) continue;
      this.recordings.delete(base);
      for (const f of entry.files) if (this.fileToBase.get(f) === base) this.fileToBase.delete(f);
    }
  }
}

function statusFromEvent(e: JobEvent): JobStatus {
  switch (e.type) {
    case 'progress':
      return { state: 'active', progress: e.progress };
    case 'completed':
      return { state: 'completed', progress: 100 };
    case 'failed':
      return { state: 'failed', progress: 0, failedReason: e.reason };
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v !== '';

function stripSuffix(s: string, suffix: string): string | undefined {
  return s.endsWith(suffix) && s.length > suffix.length ? s.slice(0, -suffix.length) : undefined;
}

/** Which recording an egress job works on, from its data; undefined for data that is not what we expect. */
export function describeJob(info: Pick<JobInfo, 'name' | 'data'>): Learnt | undefined {
  const data = (info.data ?? {}) as Record<string, unknown>;
  try {
    switch (info.name) {
      case 'finalize':
      case 'composite': {
        const rec = data.recording as RecordingFiles | undefined;
        if (!rec || typeof rec !== 'object') return undefined;
        return { name: info.name, base: recordingBase(rec), files: recordingFiles(rec) };
      }
      case 'hls-vod': {
        const base = isString(data.dir) ? stripSuffix(data.dir, '.hls') : undefined;
        return base ? { name: 'hls-vod', base, files: [] } : undefined;
      }
      case 'thumbnail': {
        const base = isString(data.output) ? stripSuffix(data.output, '.jpg') : undefined;
        return base ? { name: 'thumbnail', base, files: [] } : undefined;
      }
      default:
        return undefined;
    }
  } catch {
    return undefined; // recordingBase throws for a recording without files
  }
}
