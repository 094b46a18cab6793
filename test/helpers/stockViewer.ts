/**
 * A viewer as a third party would write it: a plain werift 0.24.4 RTCPeerConnection with werift's default
 * codecs, header extensions and RTCP behaviour (its receivers' reports and NACKs), no patches, joining over
 * Galène's protocol v2. Only ICE is set, to loopback host candidates with no STUN server. It counts the RTP
 * packets it gets per kind by sequence number (a retransmission counts once). Tests and bench/fanout share it.
 */
import { RTCPeerConnection, type PeerConfig } from 'werift';
import type { Message } from '../../src/signal/messages.js';
import { WsClient } from './wsClient.js';

/** ICE on 127.0.0.1 only, no STUN or TURN server: everything else is werift's default. */
export const STOCK_ICE: Partial<PeerConfig> = {
  iceServers: [],
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
};

/** What one kind of one down stream brought: distinct sequence numbers, and every arrival. */
export class KindCount {
  /** Distinct sequence numbers received (a retransmitted packet once). */
  readonly seqs = new Set<number>();
  /** Packets received, retransmissions included. */
  arrivals = 0;
  ssrc: number | undefined;

  add(seq: number, ssrc: number): void {
    this.arrivals++;
    this.ssrc ??= ssrc;
    this.seqs.add(seq);
  }
}

export interface StockStream {
  id: string;
  pc: RTCPeerConnection;
  audio: KindCount;
  video: KindCount;
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== 'complete') return;
      sub.unSubscribe();
      resolve();
    });
  });
}

/** A protocol v2 client that answers every offered stream with a default werift peer and counts its packets. */
export class StockViewer {
  readonly streams = new Map<string, StockStream>();
  /** Errors while answering offers (tests assert there are none). */
  readonly errors: unknown[] = [];
  /** Messages are handled one after the other (an offer's answer is sent before a later close is handled). */
  private busy: Promise<void> = Promise.resolve();
  /** Set by close() and drop(): messages still arriving are ignored (no peer connection made after them). */
  private leaving = false;

  private constructor(
    readonly ws: WsClient,
    readonly username: string,
  ) {
    ws.onMessage((m) => {
      this.busy = this.busy.then(() => this.onMessage(m)).catch((err: unknown) => void this.errors.push(err));
    });
  }

  /** Resolves once every message received so far has been handled (its peer connection made, its answer sent). */
  idle(): Promise<void> {
    return this.busy;
  }

  /** Connects, joins `group` as `username` and requests audio and video, as Galène's client does. */
  static async join(opts: { url: string; group: string; username: string; password?: string; timeoutMs?: number }): Promise<StockViewer> {
    const { c, joined } = await WsClient.join(opts.url, opts.group, opts.username, opts.password, opts.timeoutMs);
    if (joined.kind !== 'join') throw new Error(`join failed: ${String(joined.value)}`);
    const v = new StockViewer(c, opts.username);
    c.send({ type: 'request', source: c.id, username: opts.username, request: { '': ['audio', 'video'] } });
    return v;
  }

  private async onMessage(m: Message): Promise<void> {
    if (this.leaving) return;
    if (m.type === 'offer' && m.id && m.sdp) {
      let s = this.streams.get(m.id);
      if (!s) {
        const pc = new RTCPeerConnection(STOCK_ICE);
        s = { id: m.id, pc, audio: new KindCount(), video: new KindCount() };
        const stream = s;
        pc.onTrack.subscribe((track) => {
          const into = track.kind === 'video' ? stream.video : stream.audio;
          track.onReceiveRtp.subscribe((p) => into.add(p.header.sequenceNumber, p.header.ssrc));
        });
        this.streams.set(m.id, s);
      }
      await s.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      await s.pc.setLocalDescription(await s.pc.createAnswer());
      await gathered(s.pc);
      this.ws.send({ type: 'answer', id: m.id, source: this.ws.id, username: this.username, sdp: s.pc.localDescription!.sdp });
    } else if (m.type === 'close' && m.id) {
      const s = this.streams.get(m.id);
      this.streams.delete(m.id);
      await s?.pc.close();
    }
  }

  /** Closes the WebSocket (a close frame), then every peer connection, also one made for a message in hand. */
  async close(): Promise<void> {
    this.leaving = true;
    this.ws.close();
    await this.closePeers();
  }

  /**
   * Goes away abruptly: the WebSocket is terminated without a close frame and the peer connections are closed
   * without a word to the server (werift sends nothing when it closes), as when a viewer's machine drops off.
   */
  async drop(): Promise<void> {
    this.leaving = true;
    this.ws.ws.terminate();
    await this.closePeers();
  }

  private async closePeers(): Promise<void> {
    await this.busy;
    await Promise.allSettled([...this.streams.values()].map((s) => s.pc.close()));
  }
}
