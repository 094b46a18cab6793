/**
 * A viewer as a third party would write it: a plain werift 0.24.4 RTCPeerConnection with werift's default
 * settings (codecs, RTCP feedback, receiver reports, NACKs), only ICE set explicitly (host candidates on
 * 127.0.0.1, no STUN server), joining over Galène's protocol v2, and counting the RTP packets werift hands to
 * each track, per SSRC, by sequence number. Nothing of Lectern's (no src/forward patch, no test helper that
 * patches werift) is used here; only test/helpers/mediaSource.ts's plain wait for ICE gathering.
 */
import { randomBytes } from 'node:crypto';
import { RTCPeerConnection, type PeerConfig } from 'werift';
import WebSocket from 'ws';
import type { JoinTiming } from './fanoutProtocol.js';
import { SeqSet } from './leanViewer.js';
import { whenGathered } from '../test/helpers/mediaSource.js';

/** werift's defaults, except ICE: host candidates on loopback only, and no STUN server (no traffic beyond loopback). */
export const STOCK_PEER_CONFIG: Partial<PeerConfig> = {
  iceServers: [],
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
};

interface Msg {
  type: string;
  kind?: string;
  id?: string;
  sdp?: string;
  value?: unknown;
  [k: string]: unknown;
}

/** What bench/viewerWorker.ts needs of a viewer (LeanViewer and StockViewer both are one). */
export interface BenchViewer {
  readonly video: SeqSet;
  readonly audio: SeqSet;
  readonly timing: JoinTiming;
  readonly connected: boolean;
  open(): Promise<void>;
  run(timeoutMs: number): Promise<JoinTiming>;
  close(): Promise<void>;
}

/**
 * A stock werift peer connection's track counting: one SeqSet per SSRC; `video` and `audio` are those of the
 * first SSRC of each kind (the publisher's one stream of each).
 */
export class StockCounter {
  readonly bySsrc = new Map<number, { kind: string; seqs: SeqSet }>();
  video = new SeqSet();
  audio = new SeqSet();
  onFirstVideo: (() => void) | undefined;
  /** Called for every packet of the first SSRC of each kind. */
  onPacket: ((kind: 'video' | 'audio', seq: number) => void) | undefined;

  watch(pc: RTCPeerConnection): void {
    pc.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        const ssrc = rtp.header.ssrc;
        let s = this.bySsrc.get(ssrc);
        if (!s) {
          const kind = track.kind;
          const already = [...this.bySsrc.values()].some((o) => o.kind === kind);
          s = { kind, seqs: already ? new SeqSet() : kind === 'video' ? this.video : this.audio };
          this.bySsrc.set(ssrc, s);
        }
        s.seqs.record(rtp.header.sequenceNumber, rtp.payload.length);
        if (s.seqs === this.video) this.onPacket?.('video', rtp.header.sequenceNumber);
        else if (s.seqs === this.audio) this.onPacket?.('audio', rtp.header.sequenceNumber);
        if (s.kind === 'video' && s.seqs.packets === 1 && s.seqs === this.video) this.onFirstVideo?.();
      });
    });
  }
}

export interface StockViewerOptions {
  url: string;
  group: string;
  index: number;
}

/** One Galène protocol v2 client on its own WebSocket with one stock werift RTCPeerConnection. */
export class StockViewer implements BenchViewer {
  readonly timing: JoinTiming;
  private readonly counter = new StockCounter();
  private readonly id = randomBytes(16).toString('hex');
  private readonly username: string;
  private ws: WebSocket | undefined;
  private pc: RTCPeerConnection | undefined;
  private streamId: string | undefined;
  private t0 = 0;
  private closed = false;
  private opening: Promise<void> | undefined;
  private settle: ((err?: Error) => void) | undefined;

  constructor(private readonly opts: StockViewerOptions) {
    this.username = `viewer${opts.index}`;
    this.timing = { index: opts.index, ok: false };
    this.counter.onFirstVideo = () => {
      this.timing.firstVideoMs ??= this.since();
      this.settle?.();
    };
  }

  get video(): SeqSet {
    return this.counter.video;
  }

  get audio(): SeqSet {
    return this.counter.audio;
  }

  get connected(): boolean {
    return this.pc?.connectionState === 'connected';
  }

  open(): Promise<void> {
    this.opening ??= (async () => {
      const ws = new WebSocket(this.opts.url);
      this.ws = ws;
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('error', (err) => this.settle?.(err));
      ws.on('close', () => this.settle?.(new Error('WebSocket closed')));
      const handshake = new Promise<void>((resolve) => {
        ws.on('message', (data) => {
          const m = JSON.parse(data.toString()) as Msg;
          if (m.type === 'handshake') resolve();
          else this.onMessage(m);
        });
      });
      this.send({ type: 'handshake', version: ['2'], id: this.id });
      await handshake;
    })();
    return this.opening;
  }

  async run(timeoutMs: number): Promise<JoinTiming> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => {
        this.settle = undefined;
        if (err) reject(err);
        else resolve();
      };
    });
    const timer = setTimeout(
      () => this.settle?.(new Error(`no video after ${timeoutMs} ms (ice ${this.pc?.iceConnectionState ?? '-'}, ${this.pc?.connectionState ?? 'no pc'})`)),
      timeoutMs,
    );
    try {
      await this.open();
      if (this.ws?.readyState !== WebSocket.OPEN) throw new Error('WebSocket closed before the join');
      this.t0 = performance.now();
      this.timing.joinSentAt = performance.timeOrigin + this.t0;
      this.send({ type: 'join', kind: 'join', group: this.opts.group, username: this.username });
      await done;
      this.timing.ok = true;
    } catch (err) {
      this.timing.ok = false;
      this.timing.error = err instanceof Error ? err.message : String(err);
      await this.close();
    } finally {
      clearTimeout(timer);
    }
    return this.timing;
  }

  private since(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  private send(m: Msg): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  private onMessage(m: Msg): void {
    switch (m.type) {
      case 'joined':
        if (m.kind === 'join') {
          this.timing.joinedMs ??= this.since();
          this.send({ type: 'request', request: { '': ['audio', 'video'] } });
        } else if (m.kind === 'fail') {
          this.settle?.(new Error(`join failed: ${String(m.value)}`));
        }
        break;
      case 'offer':
        if (m.id && m.sdp) this.onOffer(m.id, m.sdp).catch((err: unknown) => this.settle?.(err instanceof Error ? err : new Error(String(err))));
        break;
      case 'close':
        if (m.id === this.streamId) this.settle?.(new Error('the server closed the stream'));
        break;
      case 'ping':
        this.send({ type: 'pong' });
        break;
      case 'usermessage':
        if (m.kind === 'error') this.settle?.(new Error(`server error: ${String(m.value)}`));
        break;
    }
  }

  private async onOffer(id: string, sdp: string): Promise<void> {
    this.timing.offerMs ??= this.since();
    this.streamId = id;
    if (!this.pc) {
      const pc = new RTCPeerConnection(STOCK_PEER_CONFIG);
      this.pc = pc;
      this.counter.watch(pc);
      pc.connectionStateChange.subscribe((s) => {
        if (s === 'connected') this.timing.connectedMs ??= this.since();
        else if (s === 'failed') this.settle?.(new Error(`connection failed at ${this.since()} ms`));
      });
    }
    const pc = this.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await whenGathered(pc);
    if (this.closed) return;
    this.send({ type: 'answer', id, source: this.id, username: this.username, sdp: pc.localDescription!.sdp });
    this.timing.answerSentMs ??= this.since();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settle?.(new Error('closed'));
    this.ws?.terminate();
    await this.pc?.close().catch(() => undefined);
  }
}
