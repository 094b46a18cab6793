import { randomBytes } from 'node:crypto';
import { MediaStreamTrack, RTCPeerConnection, type RtpPacket } from 'werift';
import type { Message } from '../../src/signal/messages.js';
import { loopbackPeerConfig } from './loopbackStun.js';
import { WsClient } from './wsClient.js';

/** What a receiving client saw of one down stream. */
export interface ReceivedStream {
  id: string;
  label: string;
  username: string;
  pc: RTCPeerConnection;
  /** Resolves when the PeerConnection reaches `connected`, with the time it did. */
  connected: Promise<number>;
  /** Packets received per kind, in arrival order (bounded by `keepPackets`). */
  packets: { audio: RtpPacket[]; video: RtpPacket[] };
  counts: { audio: number; video: number };
  firstPacketAt: { audio?: number; video?: number };
  closed: boolean;
}

async function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === 'complete') return;
  await new Promise<void>((resolve) => {
    const sub = pc.iceGatheringStateChange.subscribe((s) => {
      if (s === 'complete') {
        sub.unSubscribe();
        resolve();
      }
    });
  });
}

/**
 * A protocol v2 client with werift media, for tests and benchmarks: it publishes tracks and receives the
 * streams the server offers, answering them the way Galène's client does (one PeerConnection per stream).
 */
export class MediaClient {
  readonly streams = new Map<string, ReceivedStream>();
  private readonly published = new Map<string, RTCPeerConnection>();

  constructor(
    readonly ws: WsClient,
    readonly username: string,
    private readonly stunPort: number,
    private readonly keepPackets = 2000,
  ) {
    ws.onMessage((m) => void this.onMessage(m));
  }

  static async join(opts: { url: string; group: string; username: string; password?: string; stunPort: number; keepPackets?: number }) {
    const { c, joined } = await WsClient.join(opts.url, opts.group, opts.username, opts.password);
    if (joined.kind !== 'join') throw new Error(`join failed: ${String(joined.value)}`);
    return new MediaClient(c, opts.username, opts.stunPort, opts.keepPackets);
  }

  get id(): string {
    return this.ws.id;
  }

  /** Asks for streams, Galène style: `{"": ["audio","video"]}` by default. */
  request(request: Record<string, string[]> = { '': ['audio', 'video'] }): void {
    this.ws.send({ type: 'request', source: this.id, username: this.username, request });
  }

  /** Publishes tracks as one up stream; resolves with its id once the server's answer is applied. */
  async publish(label: string, tracks: MediaStreamTrack[], opts: { sdpTransform?: (sdp: string) => string } = {}) {
    const id = randomBytes(16).toString('hex');
    const pc = new RTCPeerConnection(loopbackPeerConfig(this.stunPort));
    this.published.set(id, pc);
    for (const track of tracks) pc.addTransceiver(track, { direction: 'sendonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    const sdp = opts.sdpTransform ? opts.sdpTransform(pc.localDescription!.sdp) : pc.localDescription!.sdp;
    this.ws.send({ type: 'offer', id, label, source: this.id, username: this.username, sdp });
    const reply = await this.ws.next((m) => (m.type === 'answer' || m.type === 'abort') && m.id === id, 10_000);
    if (reply.type === 'abort') throw new Error('the server aborted the stream');
    await pc.setRemoteDescription({ type: 'answer', sdp: reply.sdp! });
    return { id, pc };
  }

  unpublish(id: string): void {
    this.ws.send({ type: 'close', id, source: this.id, username: this.username });
    void this.published.get(id)?.close();
    this.published.delete(id);
  }

  private async onMessage(m: Message): Promise<void> {
    if (m.type === 'offer' && m.id) await this.answer(m);
    else if (m.type === 'close' && m.id) {
      const s = this.streams.get(m.id);
      if (s) {
        s.closed = true;
        await s.pc.close();
      }
    }
  }

  private async answer(m: Message): Promise<void> {
    const id = m.id!;
    let stream = this.streams.get(id);
    if (!stream) {
      const pc = new RTCPeerConnection(loopbackPeerConfig(this.stunPort));
      let resolveConnected!: (t: number) => void;
      const connected = new Promise<number>((r) => (resolveConnected = r));
      pc.connectionStateChange.subscribe((s) => s === 'connected' && resolveConnected(Date.now()));
      const s: ReceivedStream = {
        id,
        label: m.label ?? '',
        username: m.username ?? '',
        pc,
        connected,
        packets: { audio: [], video: [] },
        counts: { audio: 0, video: 0 },
        firstPacketAt: {},
        closed: false,
      };
      pc.onTrack.subscribe((track: MediaStreamTrack) => {
        const kind = track.kind === 'audio' ? 'audio' : 'video';
        track.onReceiveRtp.subscribe((rtp) => {
          s.counts[kind]++;
          s.firstPacketAt[kind] ??= Date.now();
          if (s.packets[kind].length < this.keepPackets) s.packets[kind].push(rtp.clone());
        });
      });
      this.streams.set(id, s);
      stream = s;
    }
    const pc = stream.pc;
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp! });
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    this.ws.send({ type: 'answer', id, source: this.id, username: this.username, sdp: pc.localDescription!.sdp });
  }

  async close(): Promise<void> {
    this.ws.close();
    await Promise.all([...this.published.values(), ...[...this.streams.values()].map((s) => s.pc)].map((pc) => pc.close()));
  }
}
