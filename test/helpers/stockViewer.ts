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

  private constructor(
    readonly ws: WsClient,
    readonly username: string,
  ) {
    ws.onMessage((m) => void this.onMessage(m).catch((err: unknown) => this.errors.push(err)));
  }

  /** Connects, joins `group` as `username` and requests audio and video, as Galène's client does. */
  static async join(opts: { url: string; group: string; username: string; password?: string }): Promise<StockViewer> {
    const { c, joined } = await WsClient.join(opts.url, opts.group, opts.username, opts.password);
    if (joined.kind !== 'join') throw new Error(`join failed: ${String(joined.value)}`);
    const v = new StockViewer(c, opts.username);
    c.send({ type: 'request', source: c.id, username: opts.username, request: { '': ['audio', 'video'] } });
    return v;
  }

  private async onMessage(m: Message): Promise<void> {
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

  async close(): Promise<void> {
    this.ws.close();
    await Promise.allSettled([...this.streams.values()].map((s) => s.pc.close()));
  }
}
