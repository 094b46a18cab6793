import type { Group } from '../../group/Group.js';
import type { Logger } from '../../log.js';
import { LecternError } from '../../errors.js';
import { onRecordingFinished } from '../jobs/register.js';
import type { RecordingFiles } from '../jobs/types.js';
import type { PendingJobs } from '../jobs/pendingJobs.js';
import type { JobQueue } from '../queue/index.js';
import { GroupRecording } from './GroupRecording.js';
import type { EventBus } from '../../webhooks/events.js';

export interface RecorderOptions {
  recordingsDir: string;
  /** Where finished recordings go for finalize/composite/HLS/thumbnail; without one, files are only written. */
  queue?: JobQueue;
  log: Logger;
  /**
   * Where finished recordings go instead of straight to `queue`: written down, then enqueued until the queue
   * takes them; recordings in progress are written down too (a killed server's are enqueued at its next start).
   */
  pending?: PendingJobs;
  /** Without `pending`: called with each finished recording's files and the finalize job id (undefined if enqueuing failed). */
  onFinished?: (files: RecordingFiles, jobId: string | undefined) => void;
  /** recording_started / recording_finished go here (webhooks). */
  events?: EventBus;
}

/**
 * The server's recorder: `groupaction record` / `unrecord` start and stop a GroupRecording; each finished
 * publisher's files are enqueued for the egress jobs, through `pending` when there is one (kept on disk
 * and retried until the queue takes them). Without it, if the queue is down the files stay as written and
 * playable, and the failure is logged.
 */
export class Recorder {
  private readonly active = new Map<Group, GroupRecording>();
  private closed = false;
  private readonly enqueuing = new Set<Promise<void>>();

  constructor(private readonly opts: RecorderOptions) {}

  /** Groups being recorded now (metrics). */
  get activeCount(): number {
    return this.active.size;
  }

  isRecording(group: Group): boolean {
    return this.active.has(group);
  }

  start(group: Group): void {
    if (this.closed) throw new LecternError('shutting-down', 'the server is shutting down');
    if (this.active.has(group)) throw new LecternError('already-recording', 'this group is already being recorded');
    const rec = new GroupRecording(group, {
      recordingsDir: this.opts.recordingsDir,
      log: this.opts.log,
      onFinished: (recordings, key) => {
        if (this.opts.pending) this.opts.pending.finished(key, recordings);
        else for (const files of recordings) this.finished(files);
      },
      ...(this.opts.pending ? { onProgress: (recordings: RecordingFiles[], key: string) => this.opts.pending!.recordingProgress(key, recordings) } : {}),
      onKicked: () => {
        if (this.active.get(group) === rec) void this.stop(group);
      },
    });
    this.active.set(group, rec);
    rec.start();
    this.opts.log.info({ group: group.name }, 'recording started');
    this.opts.events?.emit('recording_started', group.name);
  }

  /** Stops a group's recording; resolves when its files are complete. */
  async stop(group: Group): Promise<void> {
    const rec = this.active.get(group);
    if (!rec) throw new LecternError('not-recording', 'this group is not being recorded');
    this.active.delete(group);
    await rec.stop();
    this.opts.log.info({ group: group.name }, 'recording stopped');
    this.opts.events?.emit('recording_finished', group.name);
  }

  /** Stops every recording (SIGTERM): all files are complete, and handed to the queue, when this resolves. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.active.keys()].map((g) => this.stop(g)));
    await Promise.all(this.enqueuing);
  }

  private finished(files: RecordingFiles): void {
    const queue = this.opts.queue;
    if (!queue) {
      this.opts.onFinished?.(files, undefined);
      return;
    }
    const p = onRecordingFinished(queue, files).then(
      (id) => this.opts.onFinished?.(files, id),
      (e: unknown) => {
        this.opts.log.error({ err: e, files }, 'cannot enqueue the finished recording; its files are kept as written');
        this.opts.onFinished?.(files, undefined);
      },
    );
    this.enqueuing.add(p);
    void p.finally(() => this.enqueuing.delete(p));
  }
}
