import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Client } from '../../group/Client.js';
import type { Group } from '../../group/Group.js';
import type { UpConnection } from '../../ingest/UpConnection.js';
import type { Logger } from '../../log.js';
import type { RecordingFiles } from '../jobs/types.js';
import { createRecordingFile } from './recordingFile.js';
import { StreamRecorder } from './StreamRecorder.js';

export interface GroupRecordingOptions {
  recordingsDir: string;
  log: Logger;
  /**
   * A publisher's files are complete (it left, or the recording stopped): its last screen share and camera
   * as one recording, then each earlier file alone; paths relative to recordingsDir. `key` is the one
   * `onProgress` was given for this publisher.
   */
  onFinished(recordings: RecordingFiles[], key: string): void;
  /** A publisher's files so far, each time one is created (some are still being written). */
  onProgress?(recordings: RecordingFiles[], key: string): void;
  /** The RECORDING user was kicked (an op, or autokick): the owner stops the recording. */
  onKicked(): void;
}

/** What one publisher recorded while it was live: its last screen share and camera, and any earlier ones. */
interface PublisherFiles {
  /** Unique to this publisher in this recording (random hex). */
  key: string;
  active: number;
  /** The files created so far, in creation order. */
  started: { slot: 'screen' | 'camera'; file: string }[];
  screen?: string;
  camera?: string;
  earlier: RecordingFiles[];
}

/**
 * A group being recorded. It is the RECORDING pseudo-client Galène shows in the user list (permissions
 * ["system"]), and like any member it is pushed every stream published in the group: each gets a
 * StreamRecorder (one file per stream). When all of a publisher's streams have ended, its files are handed
 * to `onFinished` (one call for its screen share and camera, one per earlier file it replaced).
 */
export class GroupRecording implements Client {
  readonly id = randomBytes(16).toString('hex');
  readonly username = 'RECORDING';
  readonly permissions = ['system'] as const;
  readonly data = {};
  readonly address = undefined;
  private readonly streams = new Map<string, StreamRecorder>();
  private readonly publishers = new Map<string, PublisherFiles>();
  private readonly pending = new Set<Promise<void>>();
  private stopping: Promise<void> | undefined;
  private readonly log: Logger;

  constructor(
    readonly group: Group,
    private readonly opts: GroupRecordingOptions,
  ) {
    this.log = opts.log.child({ group: group.name });
  }

  /** Joins the group (announced as a user) and records every stream already published. */
  start(): void {
    this.group.add(this);
    for (const up of this.group.streams.values()) this.pushStream(up);
  }

  get stopped(): boolean {
    return this.stopping !== undefined;
  }

  send(): void {}
  setPermissions(): void {}
  joinedChanged(): void {}

  kick(): void {
    this.opts.onKicked();
  }

  pushStream(up: UpConnection): void {
    if (this.stopping || this.streams.has(up.id) || up.closed) return;
    const pub = this.publisher(up.clientId);
    const rec = new StreamRecorder({
      stream: up,
      createWriter: async (tracks) => {
        const w = await createRecordingFile(this.opts.recordingsDir, this.group.name, up.username, tracks);
        pub.started.push({ slot: slotOf(up), file: path.relative(this.opts.recordingsDir, w.path) });
        this.opts.onProgress?.(inProgress(pub), pub.key);
        return w;
      },
      log: this.log,
    });
    if (!rec.recording) {
      void rec.close();
      if (pub.active === 0) this.publishers.delete(up.clientId);
      return;
    }
    this.streams.set(up.id, rec);
    pub.active++;
    up.once('close', () => this.endStream(up, rec));
  }

  /** Ends every stream's file, leaves the group, hands over the files; resolves when all are written. */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.group.remove(this);
      for (const [id, rec] of this.streams) {
        const up = this.group.streams.get(id);
        if (up) this.endStream(up, rec);
        else this.track(rec.close().then(() => undefined));
      }
      while (this.pending.size > 0) await Promise.all(this.pending);
    })());
  }

  private endStream(up: UpConnection, rec: StreamRecorder): void {
    if (this.streams.get(up.id) !== rec) return;
    this.streams.delete(up.id);
    this.track(
      rec.close().then((file) => {
        const pub = this.publisher(up.clientId);
        pub.active--;
        if (file) {
          const rel = path.relative(this.opts.recordingsDir, file.path);
          const slot = slotOf(up);
          if (pub[slot]) pub.earlier.push({ [slot]: pub[slot] });
          pub[slot] = rel;
        }
        if (pub.active === 0) this.finishPublisher(up.clientId, pub);
      }),
    );
  }

  private finishPublisher(clientId: string, pub: PublisherFiles): void {
    this.publishers.delete(clientId);
    const recordings: RecordingFiles[] = [];
    if (pub.screen || pub.camera) recordings.push({ screen: pub.screen, camera: pub.camera });
    recordings.push(...pub.earlier);
    this.opts.onFinished(recordings, pub.key);
  }

  private publisher(clientId: string): PublisherFiles {
    let pub = this.publishers.get(clientId);
    if (!pub) this.publishers.set(clientId, (pub = { key: randomBytes(12).toString('hex'), active: 0, started: [], earlier: [] }));
    return pub;
  }

  private track(p: Promise<void>): void {
    const tracked = p.catch((e: unknown) => this.log.error({ err: e }, 'recording failed')).finally(() => this.pending.delete(tracked));
    this.pending.add(tracked);
  }
}

function slotOf(up: UpConnection): 'screen' | 'camera' {
  return up.label === 'screenshare' ? 'screen' : 'camera';
}

/** What `finishPublisher` would hand over if the publisher ended now: the last screen and camera, then the rest. */
function inProgress(pub: PublisherFiles): RecordingFiles[] {
  const last: RecordingFiles = {};
  const earlier: RecordingFiles[] = [];
  for (const { slot, file } of [...pub.started].reverse()) {
    if (last[slot] === undefined) last[slot] = file;
    else earlier.unshift({ [slot]: file });
  }
  return [last, ...earlier];
}
