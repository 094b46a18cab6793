/**
 * A viewer for the fan-out benchmark: a protocol v2 client on its own WebSocket with one werift
 * PeerConnection for the stream the server offers. Unlike test/helpers/ViewerPeer it keeps no per-packet
 * records, only a bit per sequence number and counters, so its memory stays flat.
 */
import { randomBytes } from 'node:crypto';
import { RTCPeerConnection, RtcpPacketConverter, type RTCDtlsTransport } from 'werift';
import WebSocket from 'ws';
import { loopbackPeerConfig } from '../test/helpers/loopbackStun.js';
import { patchWeriftClient } from '../test/helpers/weriftClient.js';
import { opusCodec, vp8Codec, whenGathered } from '../test/helpers/mediaSource.js';
import type { JoinTiming, ViewerMode } from './fanoutProtocol.js';

const VIDEO_PT = 96;
const AUDIO_PT = 111;
const GCM_TAG_BYTES = 16;
/** Receive buffer asked for on each viewer socket (Linux caps it at net.core.rmem_max). */
const RECV_BUFFER_BYTES = 1 << 21;

/**
 * Which sequence numbers of one RTP stream arrived (a bit per 16-bit sequence number: a viewer lives far less
 * than the ~8 minutes a 150 packet/s stream takes to wrap), plus plain counters.
 */
export class SeqSet {
  packets = 0;
  duplicates = 0;
  payloadBytes = 0;
  private readonly bits = new Uint8Array(65536 / 8);

  record(seq: number, payloadBytes: number): void {
    this.packets++;
    this.payloadBytes += payloadBytes;
    const i = seq >> 3;
    const m = 1 << (seq & 7);
    if (this.bits[i]! & m) this.duplicates++;
    else this.bits[i]! |= m;
  }

  /** Distinct sequence numbers received in (from, to], wrapping; adds 1 to hits[i] for the i-th one received. */
  countRange(from: number, to: number, hits?: number[]): number {
    let n = 0;
    let i = 0;
    for (let c = (to - from) & 0xffff, s = (from + 1) & 0xffff; c > 0; c--, s = (s + 1) & 0xffff, i++) {
      if (this.bits[s >> 3]! & (1 << (s & 7))) {
        n++;
        if (hits) hits[i] = (hits[i] ?? 0) + 1;
      }
    }
    return n;
  }
}

interface Msg {
  type: string;
  kind?: string;
  id?: string;
  sdp?: string;
  value?: unknown;
  [k: string]: unknown;
}

export interface LeanViewerOptions {
  url: string;
  group: string;
  index: number;
  stunPort: number;
  mode: ViewerMode;
}

export class LeanViewer {
  readonly video = new SeqSet();
  readonly audio = new SeqSet();
  readonly timing: JoinTiming;
  private readonly id = randomBytes(16).toString('hex');
  private readonly username: string;
  private ws: WebSocket | undefined;
  private pc: RTCPeerConnection | undefined;
  private streamId: string | undefined;
  private readonly patched = new WeakSet<RTCDtlsTransport>();
  private stopIceRetry: (() => void) | undefined;
  private t0 = 0;
  private closed = false;
  private settle: ((err?: Error) => void) | undefined;

  constructor(private readonly opts: LeanViewerOptions) {
    this.username = `viewer${opts.index}`;
    this.timing = { index: opts.index, ok: false };
  }

  get connected(): boolean {
    return this.pc?.connectionState === 'connected';
  }

  private opening: Promise<void> | undefined;

  /**
   * Opens the WebSocket and does the protocol handshake, without joining (so that a burst of joins can be
   * sent at once, each on an open connection). `run` does it if it was not done before.
   */
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

  /** Connects (unless `open` did), joins and answers the offer; resolves with the timings once the first video packet is in. */
  async run(timeoutMs: number): Promise<JoinTiming> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => {
        this.settle = undefined;
        if (err) reject(err);
        else resolve();
      };
    });
    const timer = setTimeout(() => this.settle?.(new Error(`no video after ${timeoutMs} ms (${this.stateDescription()})`)), timeoutMs);
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
      // A failed viewer leaves (and is left out of the expected packet count).
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
          this.send({ type: 'request', source: this.id, username: this.username, request: { '': ['audio', 'video'] } });
        } else if (m.kind === 'fail') {
          this.settle?.(new Error(`join failed: ${String(m.value)}`));
        }
        break;
      case 'offer':
        if (m.id && m.sdp) {
          this.onOffer(m.id, m.sdp).catch((err: unknown) => this.settle?.(err instanceof Error ? err : new Error(String(err))));
        }
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
      const pc = new RTCPeerConnection({
        ...loopbackPeerConfig(this.opts.stunPort),
        codecs: { video: [vp8Codec()], audio: [opusCodec()] },
      });
      this.pc = pc;
      pc.connectionStateChange.subscribe((s) => {
        if (s === 'connected') this.timing.connectedMs ??= this.since();
        else if (s === 'failed') this.settle?.(new Error(`connection failed at ${this.since()} ms (${this.stateDescription()})`));
      });
    }
    const pc = this.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp });
    this.patchTransports(pc);
    this.stopIceRetry ??= patchWeriftClient(pc);
    await pc.setLocalDescription(await pc.createAnswer());
    await whenGathered(pc);
    if (this.closed) return;
    this.enlargeReceiveBuffers(pc);
    this.send({ type: 'answer', id, source: this.id, username: this.username, sdp: pc.localDescription!.sdp });
    this.timing.answerSentMs ??= this.since();
  }

  /** A bigger socket receive buffer, so that a viewer process that is briefly descheduled loses nothing. */
  private enlargeReceiveBuffers(pc: RTCPeerConnection): void {
    for (const dtls of pc.dtlsTransports) {
      const protocols = (dtls.iceTransport.connection as unknown as { protocols?: { transport?: { socket?: unknown } }[] })
        .protocols;
      for (const p of protocols ?? []) {
        const socket = p.transport?.socket as { setRecvBufferSize?: (n: number) => void } | undefined;
        try {
          socket?.setRecvBufferSize?.(RECV_BUFFER_BYTES);
        } catch {
          // not bound yet or not UDP: keep the default
        }
      }
    }
  }

  /** ICE and DTLS states, for error messages. */
  private stateDescription(): string {
    const pc = this.pc;
    if (!pc) return 'no peer connection';
    const dtls = pc.dtlsTransports.map((d) => `${d.state}/${d.iceTransport.state}`).join(',');
    return `ice ${pc.iceConnectionState}, dtls/ice ${dtls}, answer sent at ${this.timing.answerSentMs ?? '-'} ms`;
  }

  private onRtp(payloadType: number, seq: number, payloadBytes: number): void {
    if (this.timing.firstPacketMs === undefined) this.timing.firstPacketMs = this.since();
    if (payloadType === VIDEO_PT) {
      this.video.record(seq, payloadBytes);
      if (this.timing.firstVideoMs === undefined) {
        this.timing.firstVideoMs = this.since();
        this.settle?.();
      }
    } else if (payloadType === AUDIO_PT) {
      this.audio.record(seq, payloadBytes);
    }
  }

  private patchTransports(pc: RTCPeerConnection): void {
    for (const dtls of pc.dtlsTransports) {
      if (this.patched.has(dtls)) continue;
      this.patched.add(dtls);
      if (this.opts.mode === 'werift') {
        dtls.onRtp.subscribe((rtp) => this.onRtp(rtp.header.payloadType, rtp.header.sequenceNumber, rtp.payload.length));
      } else {
        this.countWithoutDecrypting(dtls);
      }
    }
  }

  /**
   * Replaces the transport's SRTP receive path (RTCDtlsTransport.startSrtp, run once DTLS is up): RTP is
   * counted from its cleartext header and never decrypted; RTCP is decrypted and handled as werift would.
   */
  private countWithoutDecrypting(dtls: RTCDtlsTransport): void {
    dtls.startSrtp = () => {
      if (dtls.srtpStarted) return;
      dtls.srtpStarted = true;
      dtls.updateSrtpSession();
      dtls.iceTransport.connection.onData.subscribe((data: Buffer) => {
        if (data.length < 12 || data[0]! < 128 || data[0]! > 191) return; // not RTP/RTCP (RFC 7983)
        const pt = data[1]! & 0x7f;
        if (data[1]! >= 192 && data[1]! <= 223) {
          let packets;
          try {
            packets = RtcpPacketConverter.deSerialize(dtls.srtcp.decrypt(data));
          } catch {
            return;
          }
          for (const p of packets) dtls.onRtcp.execute(p);
          return;
        }
        let header = 12 + 4 * (data[0]! & 0x0f);
        if (data[0]! & 0x10 && data.length >= header + 4) header += 4 + 4 * data.readUInt16BE(header + 2);
        this.onRtp(pt, data.readUInt16BE(2), Math.max(0, data.length - header - GCM_TAG_BYTES));
      });
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settle?.(new Error('closed'));
    this.stopIceRetry?.();
    this.ws?.terminate();
    await this.pc?.close().catch(() => undefined);
  }
}
