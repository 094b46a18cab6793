/**
 * Forwarding on every core: viewers' down connections run in worker threads (forwardWorker.ts), spread
 * over them by count. The main thread keeps signalling and the publishers' connections; for each up stream
 * that a thread's viewers watch, a FeedTrack on each of its up tracks hands every packet to that thread once,
 * batched per turn of the event loop into one transferred buffer. The main thread sees each remote viewer as
 * a RemoteDownConnection, with DownConnection's signalling methods and events; its stats and counters are
 * the thread's last report (every second).
 */
import { EventEmitter } from 'node:events';
import type { Worker } from 'node:worker_threads';
import type { RtpPacket } from 'werift';
import { LecternError } from '../../errors.js';
import type { UpConnection } from '../../ingest/UpConnection.js';
import type { Logger } from '../../log.js';
import type { DownConnectionEvents, DownConnectionOptions } from '../DownConnection.js';
import type { PacketGuardCounts } from '../guard/packetGuards.js';
import type { DownTrackCounters } from '../RtpDownTrack.js';
import type { ConnStats, DownTrack, IceOptions, TrackKind, UpTrack } from '../types.js';
import type { Call, FromWorker, Notice, TrackMeta, WorkerConfig } from './protocol.js';
import { startWorker } from './startWorker.js';

const CLOCK_POLL_MS = 500;
/** Forwarding threads that die this soon after their start, MAX_QUICK_DEATHS times in a row, are not replaced. */
const QUICK_DEATH_MS = 2000;
const MAX_QUICK_DEATHS = 3;
/** The close reason of a viewer's connection whose thread died. */
export const THREAD_FAILED = 'forwarding thread failed';

/** A call without its number (which `ForwardThread.call` assigns), for each kind of call. */
type WithoutNumber<C> = C extends Call ? Omit<C, 'call'> : never;
type CallBody = WithoutNumber<Call>;

/** The main thread's handle on one viewer's down connection in a forwarding thread. */
export class RemoteDownConnection extends EventEmitter<DownConnectionEvents> {
  private lastStats: ConnStats;
  private lastCounters: Partial<Record<TrackKind, DownTrackCounters>> = {};
  private closedReason: string | undefined;

  constructor(
    private readonly thread: ForwardThread,
    readonly key: number,
    readonly id: string,
    readonly clientId: string,
    readonly up: UpConnection,
  ) {
    super();
    this.lastStats = { id, tracks: [] };
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  createOffer(opts: { iceRestart?: boolean } = {}): Promise<string> {
    return this.thread.call({ op: 'offer', down: this.key, iceRestart: opts.iceRestart ?? false }) as Promise<string>;
  }

  async setAnswer(sdp: string): Promise<void> {
    await this.thread.call({ op: 'answer', down: this.key, sdp });
  }

  async addIceCandidate(candidate: unknown): Promise<void> {
    if (this.closed) return;
    await this.thread.call({ op: 'ice', down: this.key, candidate });
  }

  setRequest(request: readonly string[]): void {
    if (!this.closed) this.thread.notify({ op: 'request', down: this.key, request: [...request] });
  }

  stats(): ConnStats {
    return this.lastStats;
  }

  counters(): Partial<Record<TrackKind, DownTrackCounters>> {
    return this.lastCounters;
  }

  report(stats: ConnStats, counters: Partial<Record<TrackKind, DownTrackCounters>>): void {
    this.lastStats = stats;
    this.lastCounters = counters;
  }

  /** Idempotent; emits 'close' at once, as DownConnection does. */
  close(reason = 'closed'): void {
    if (this.closed) return;
    this.closedReason = reason;
    this.thread.notify({ op: 'close', down: this.key, reason });
    this.thread.forget(this);
    this.emit('close', reason);
  }
}

/** Hands one up track's packets to one forwarding thread; its REMB share is what that thread's viewers report. */
class FeedTrack implements DownTrack {
  readonly id: string;
  constructor(
    private readonly thread: ForwardThread,
    readonly track: UpTrack,
  ) {
    this.id = `feed:${track.id}`;
  }

  write(packet: RtpPacket): void {
    this.thread.queue(this.track.id, packet);
  }

  maxBitrate(): number | undefined {
    return this.thread.limits.get(this.track.id);
  }
}

/** One up stream fed to one thread: a FeedTrack per up track, kept while the thread has viewers of it. */
class Feed {
  private readonly feeds = new Map<UpTrack, FeedTrack>();
  private readonly clocks = new Map<UpTrack, number>();
  private readonly timer: NodeJS.Timeout;
  private readonly onTrack = (): void => this.sync();
  private readonly onClose = (): void => this.thread.dropFeed(this.up);
  viewers = 0;

  constructor(
    private readonly thread: ForwardThread,
    readonly up: UpConnection,
  ) {
    up.on('track', this.onTrack);
    up.on('close', this.onClose);
    this.sync();
    this.timer = setInterval(() => this.sendClocks(), CLOCK_POLL_MS);
    this.timer.unref();
  }

  /** Mirrors tracks the thread has not seen yet and starts feeding them. */
  private sync(): void {
    const tracks = this.up.tracks();
    const metas: TrackMeta[] = tracks.map((t) => ({ id: t.id, kind: t.kind, label: t.label, rid: t.rid, codec: t.codec }));
    this.thread.notify({ op: 'tracks', up: this.up.id, tracks: metas });
    for (const t of tracks) {
      if (this.feeds.has(t)) continue;
      const feed = new FeedTrack(this.thread, t);
      this.feeds.set(t, feed);
      t.addDown(feed);
    }
  }

  private sendClocks(): void {
    for (const t of this.feeds.keys()) {
      const clock = t.senderClock();
      if (!clock || this.clocks.get(t) === clock.receivedAtMs) continue;
      this.clocks.set(t, clock.receivedAtMs);
      this.thread.notify({ op: 'clock', track: t.id, clock });
    }
  }

  close(): void {
    clearInterval(this.timer);
    this.up.off('track', this.onTrack);
    this.up.off('close', this.onClose);
    for (const [t, feed] of this.feeds) t.removeDown(feed);
    this.feeds.clear();
    this.thread.notify({ op: 'drop-up', up: this.up.id });
  }
}

/** One worker thread and what the main thread knows of it. */
class ForwardThread {
  private readonly worker: Worker;
  private readonly calls = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private nextCall = 1;
  private readonly downs = new Map<number, RemoteDownConnection>();
  private readonly feeds = new Map<UpConnection, Feed>();
  readonly limits = new Map<string, number | undefined>();
  /** The packet guard counters of the thread's last report. */
  guards: PacketGuardCounts | undefined;
  private batch: { tracks: string[]; packets: Buffer[]; bytes: number } | undefined;
  private dead: Error | undefined;
  readonly startedAt = Date.now();

  /** `onFailed` is called if the thread dies (not after `terminate`), before its viewers are closed. */
  constructor(
    config: WorkerConfig,
    log: Logger,
    private readonly onFailed: () => void,
  ) {
    this.worker = startWorker(new URL('./forwardWorker.ts', import.meta.url), { workerData: config });
    this.worker.unref();
    this.worker.on('message', (m: FromWorker) => this.onMessage(m));
    this.worker.on('error', (err) => {
      log.error({ err, thread: config.index }, 'forwarding thread failed');
      this.fail(err);
    });
    this.worker.on('exit', (code) => this.fail(new Error(`forwarding thread exited (${code})`)));
  }

  get load(): number {
    return this.dead ? Infinity : this.downs.size;
  }

  connect(up: UpConnection, opts: Omit<DownConnectionOptions, 'ice' | 'log'>, key: number): RemoteDownConnection {
    const down = new RemoteDownConnection(this, key, opts.id, opts.clientId, up);
    this.downs.set(key, down);
    let feed = this.feeds.get(up);
    if (!feed) {
      feed = new Feed(this, up);
      this.feeds.set(up, feed);
    }
    feed.viewers++;
    this.call({ op: 'create', down: key, up: up.id, id: opts.id, clientId: opts.clientId, request: [...opts.request] }).catch(
      () => down.close('forwarding thread unavailable'),
    );
    return down;
  }

  /** A down connection closed (on either side): stop feeding its up stream when nobody here watches it. */
  forget(down: RemoteDownConnection): void {
    if (this.downs.get(down.key) !== down) return;
    this.downs.delete(down.key);
    const feed = this.feeds.get(down.up);
    if (feed && --feed.viewers <= 0) this.dropFeed(down.up);
  }

  dropFeed(up: UpConnection): void {
    const feed = this.feeds.get(up);
    if (!feed) return;
    this.feeds.delete(up);
    feed.close();
  }

  call(body: CallBody): Promise<unknown> {
    if (this.dead) return Promise.reject(new LecternError('closed', 'the forwarding thread is gone'));
    const call = this.nextCall++;
    return new Promise((resolve, reject) => {
      this.calls.set(call, { resolve, reject });
      this.worker.postMessage({ ...body, call });
    });
  }

  notify(m: Notice): void {
    if (!this.dead) this.worker.postMessage(m);
  }

  /** Queues a packet for the thread; the batch leaves at the end of this turn of the event loop. */
  queue(trackId: string, packet: RtpPacket): void {
    const bytes = packet.serialize();
    if (!this.batch) {
      this.batch = { tracks: [], packets: [], bytes: 0 };
      setImmediate(() => this.flush());
    }
    this.batch.tracks.push(trackId);
    this.batch.packets.push(bytes);
    this.batch.bytes += bytes.length;
  }

  private flush(): void {
    const b = this.batch;
    this.batch = undefined;
    if (!b || this.dead) return;
    const data = new ArrayBuffer(b.bytes);
    const view = new Uint8Array(data);
    let offset = 0;
    for (const p of b.packets) {
      view.set(p, offset);
      offset += p.length;
    }
    this.worker.postMessage({ op: 'rtp', tracks: b.tracks, lengths: b.packets.map((p) => p.length), data } satisfies Notice, [data]);
  }

  private onMessage(m: FromWorker): void {
    switch (m.op) {
      case 'reply': {
        const pending = this.calls.get(m.call);
        if (!pending) return;
        this.calls.delete(m.call);
        if (m.error) pending.reject(new LecternError(m.error.code, m.error.message));
        else pending.resolve(m.value);
        return;
      }
      case 'event':
        this.downs.get(m.down)?.emit(m.event);
        return;
      case 'closed':
        this.downs.get(m.down)?.close(m.reason);
        return;
      case 'report':
        for (const r of m.downs) this.downs.get(r.down)?.report(r.stats, r.counters);
        this.limits.clear();
        for (const l of m.limits) this.limits.set(l.track, l.maxBitrate);
        this.guards = m.guards;
        return;
      case 'keyframe':
        this.trackById(m.track)?.requestKeyframe();
        return;
      case 'nack':
        this.trackById(m.track)?.nack(m.seqs);
        return;
    }
  }

  private trackById(id: string): UpTrack | undefined {
    for (const up of this.feeds.keys()) {
      const t = up.tracks().find((x) => x.id === id);
      if (t) return t;
    }
    return undefined;
  }

  /**
   * The thread is gone: every viewer on it is closed with THREAD_FAILED (the signalling offers them the
   * stream again, on another thread).
   */
  private fail(err: Error): void {
    if (this.dead) return;
    this.dead = err;
    this.onFailed();
    for (const { reject } of this.calls.values()) reject(new LecternError('closed', err.message));
    this.calls.clear();
    for (const down of [...this.downs.values()]) down.close(THREAD_FAILED);
    for (const up of [...this.feeds.keys()]) this.dropFeed(up);
  }

  async terminate(): Promise<void> {
    this.dead ??= new Error('terminated');
    await this.worker.terminate();
  }
}

/** The forwarding threads of a server; one that dies is replaced (see `replace`). */
export class ForwardPool {
  private readonly threads: ForwardThread[];
  private nextKey = 1;
  private closed = false;
  /** Per slot, how many of its threads in a row died within QUICK_DEATH_MS of starting. */
  private readonly quickDeaths = new Map<number, number>();

  constructor(
    count: number,
    private readonly ice: IceOptions,
    private readonly logLevel: string,
    private readonly log: Logger,
  ) {
    this.threads = Array.from({ length: count }, (_, index) => this.start(index));
  }

  private start(index: number): ForwardThread {
    const thread: ForwardThread = new ForwardThread({ ice: this.ice, logLevel: this.logLevel, index }, this.log, () =>
      this.replace(index, thread),
    );
    return thread;
  }

  /**
   * A thread died: start another in its place at once, before its viewers are offered their streams again.
   * A slot whose threads keep dying young (MAX_QUICK_DEATHS in a row, each within QUICK_DEATH_MS of its
   * start: a thread that cannot start) is left dead; its viewers then go to the other threads, if any.
   */
  private replace(index: number, dead: ForwardThread): void {
    if (this.closed || this.threads[index] !== dead) return;
    const quick = Date.now() - dead.startedAt < QUICK_DEATH_MS;
    const deaths = quick ? (this.quickDeaths.get(index) ?? 0) + 1 : 0;
    this.quickDeaths.set(index, deaths);
    if (deaths >= MAX_QUICK_DEATHS) {
      this.log.error({ thread: index, deaths }, 'forwarding thread keeps dying at start; not starting it again');
      return;
    }
    this.log.warn({ thread: index }, 'forwarding thread died; starting another');
    this.threads[index] = this.start(index);
  }

  /** A down connection for a viewer, on the thread with the fewest viewers. */
  connect(up: UpConnection, opts: Omit<DownConnectionOptions, 'ice' | 'log'>): RemoteDownConnection {
    const thread = this.threads.reduce((a, b) => (b.load < a.load ? b : a));
    return thread.connect(up, opts, this.nextKey++);
  }

  /** Each thread's packet guard counters, from its last report (a replaced thread starts again at 0). */
  guardCounters(): Partial<PacketGuardCounts>[] {
    return this.threads.flatMap((t) => (t.guards ? [t.guards] : []));
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.terminate()));
  }
}
