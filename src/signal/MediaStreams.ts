import { DownConnection } from '../forward/DownConnection.js';
import { THREAD_FAILED, type ForwardPool, type RemoteDownConnection } from '../forward/threads/ForwardPool.js';
import type { ConnStats, IceOptions } from '../forward/types.js';
import { UpConnection } from '../ingest/UpConnection.js';
import { errorMessage, LecternError } from '../errors.js';
import type { IceCandidateInit } from './messages.js';
import type { Session } from './Session.js';
import { UserError } from './UserError.js';

export interface MediaOptions {
  ice: IceOptions;
  /** The `rtcConfiguration` sent to clients in `joined` (data/ice-servers.json). */
  rtcConfiguration(clientId?: string): unknown;
  /** Forwarding threads: viewers' down connections run there instead of on this thread. */
  forwardPool?: ForwardPool;
}

/** A viewer's down connection, on this thread or in a forwarding thread. */
export type DownLink = DownConnection | RemoteDownConnection;

/** Galène debounces down-stream offers; tracks that appear together are offered together. */
const TRACK_SETTLE_MS = 200;

/**
 * A session's streams: one UpConnection per stream it publishes, one DownConnection per stream it
 * receives (Galène's one PeerConnection per one-way stream), and what it asked to receive.
 */
export class MediaStreams {
  private readonly up = new Map<string, UpConnection>();
  private readonly down = new Map<string, DownLink>();
  /** Per-stream overrides from `requestStream` (undefined reverts to the label's default). */
  private readonly streamRequest = new Map<string, string[]>();
  private requested: Record<string, string[]> = {};

  constructor(
    private readonly session: Session,
    private readonly opts: MediaOptions,
  ) {}

  // ---- up streams (the client publishes) ----

  async gotOffer(id: string, label: string, sdp: string, replace?: string): Promise<void> {
    const s = this.session;
    const g = s.joinedGroup();
    if (!s.permissions.includes('present')) {
      if (replace) this.closeUp(replace);
      s.send({ type: 'abort', id });
      throw new UserError('not authorised');
    }
    const existing = this.up.get(id);
    try {
      if (existing) {
        const answer = await existing.renegotiate(sdp);
        s.send({ type: 'answer', id, sdp: answer });
        return;
      }
      const { conn, answerSdp } = await UpConnection.accept(
        {
          id,
          label,
          clientId: s.id,
          username: s.username,
          codecs: g.description.codecs,
          ice: this.opts.ice,
          log: s.log, // UpConnection adds `up` and `client` (a child here would log `up` twice)
        },
        sdp,
      );
      this.up.set(id, conn);
      let settle: NodeJS.Timeout | undefined;
      let pushed = false;
      conn.on('track', () => {
        clearTimeout(settle);
        settle = setTimeout(() => {
          if (this.up.get(id) !== conn || s.group !== g) return;
          g.addStream(conn, pushed ? undefined : replace);
          // The replaced stream ends once receivers have been offered its successor.
          if (!pushed && replace) this.closeUp(replace);
          pushed = true;
        }, TRACK_SETTLE_MS);
      });
      conn.on('failed', () => s.send({ type: 'renegotiate', id }));
      conn.on('close', () => {
        clearTimeout(settle);
        // A successor that ends before it was announced still ends what it replaced (A -> B -> C, B aborted).
        if (!pushed && replace) this.closeUp(replace);
      });
      s.send({ type: 'answer', id, sdp: answerSdp });
    } catch (err) {
      s.send({ type: 'abort', id });
      if (existing) this.closeUp(id);
      throw new UserError(err instanceof LecternError ? err.message : `cannot accept offer: ${errorMessage(err)}`);
    }
  }

  /** Ends one published stream; every receiver gets `close` through its DownConnection. */
  closeUp(id: string): void {
    const conn = this.up.get(id);
    if (!conn) return;
    this.up.delete(id);
    this.session.group?.removeStream(id);
    conn.close('publisher closed the stream');
  }

  closeAllUp(reason: string): void {
    for (const id of [...this.up.keys()]) {
      this.session.send({ type: 'abort', id });
      this.closeUp(id);
      this.session.error(reason);
    }
  }

  // ---- down streams (the server offers) ----

  setRequested(requested: Record<string, string[]>): void {
    const g = this.session.joinedGroup();
    this.requested = requested;
    for (const up of g.streams.values()) if (up.clientId !== this.session.id) this.offerDown(up);
  }

  setStreamRequest(id: string, request: string[] | undefined): void {
    const g = this.session.joinedGroup();
    const up = g.streams.get(id);
    if (!up) throw new UserError('unknown id');
    if (request) this.streamRequest.set(id, request);
    else this.streamRequest.delete(id);
    this.offerDown(up);
  }

  /** Creates, updates or closes the DownConnection for one up stream according to what was requested. */
  offerDown(up: UpConnection, replace?: string): void {
    const s = this.session;
    if (!s.group) return;
    const request = this.streamRequest.get(up.id) ?? this.requested[up.label] ?? this.requested[''] ?? [];
    const existing = this.down.get(up.id);
    if (request.length === 0) {
      if (existing) this.closeDown(up.id);
      return;
    }
    if (existing) {
      existing.setRequest(request);
      return;
    }
    // The client reuses the replaced stream's tile when the offer names it: drop the old one quietly.
    if (replace) this.closeDown(replace, false);
    // No child logger here: DownConnection adds `down` and `client` itself (one logger less per viewer).
    const down = this.opts.forwardPool
      ? this.opts.forwardPool.connect(up, { id: up.id, clientId: s.id, request })
      : new DownConnection(up, { id: up.id, clientId: s.id, request, ice: this.opts.ice, log: s.log });
    this.down.set(up.id, down);
    down.on('close', (reason) => {
      if (this.down.get(up.id) !== down) return;
      this.down.delete(up.id);
      s.send({ type: 'close', id: up.id });
      // Its forwarding thread died: the stream is still there, so offer it again (the pool has replaced the thread).
      if (reason === THREAD_FAILED && s.group?.streams.get(up.id) === up) this.offerDown(up);
    });
    down.on('failed', () => void this.renegotiateDown(up.id).catch(() => undefined));
    down.on('negotiationneeded', () => void this.sendOffer(down, up, undefined, false));
    void this.sendOffer(down, up, replace, false);
  }

  async gotAnswer(id: string, sdp: string): Promise<void> {
    const down = this.down.get(id);
    if (!down) throw new UserError('unknown id');
    try {
      await down.setAnswer(sdp);
    } catch (err) {
      this.closeDown(id);
      throw new UserError(`bad answer: ${errorMessage(err)}`);
    }
  }

  async renegotiateDown(id: string): Promise<void> {
    const down = this.down.get(id);
    const up = this.session.group?.streams.get(id);
    if (!down || !up) return;
    await this.sendOffer(down, up, undefined, true);
  }

  abortDown(id: string): void {
    this.closeDown(id);
  }

  async gotIce(id: string, candidate: IceCandidateInit): Promise<void> {
    const conn = this.up.get(id) ?? this.down.get(id);
    if (!conn) return; // Galène ignores candidates for unknown ids (they race with close)
    try {
      await conn.addIceCandidate(candidate);
    } catch (err) {
      this.session.log.debug({ err, id }, 'bad ICE candidate');
    }
  }

  /** This client's connections in Galène's `.stats` shape. */
  stats(): { up: ConnStats[]; down: ConnStats[] } {
    return {
      up: [...this.up.values()].map((c) => c.stats()),
      down: [...this.down.values()].map((c) => c.stats()),
    };
  }

  /** The live down connections (metrics read their counters). */
  downConnections(): IterableIterator<DownLink> {
    return this.down.values();
  }

  closeAll(): void {
    for (const id of [...this.up.keys()]) this.closeUp(id);
    for (const [id, down] of [...this.down]) {
      this.down.delete(id);
      down.close('viewer left');
    }
    this.streamRequest.clear();
  }

  private closeDown(id: string, notify = true): void {
    const down = this.down.get(id);
    if (!down) return;
    this.down.delete(id);
    down.close('viewer closed the stream');
    if (notify) this.session.send({ type: 'close', id });
  }

  private async sendOffer(down: DownLink, up: UpConnection, replace: string | undefined, iceRestart: boolean) {
    try {
      const sdp = await down.createOffer({ iceRestart });
      if (this.down.get(up.id) !== down) return;
      this.session.send({
        type: 'offer',
        id: up.id,
        label: up.label,
        replace,
        source: up.clientId,
        username: up.username,
        sdp,
      });
    } catch (err) {
      this.session.log.warn({ err }, 'cannot offer a down stream');
      this.closeDown(up.id);
    }
  }
}

