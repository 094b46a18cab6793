import { randomBytes } from 'node:crypto';
import type { Message } from '../../src/signal/messages.js';
import type { PublisherPeer } from './mediaSource.js';
import { ViewerPeer } from './viewerPeer.js';
import { WsClient } from './wsClient.js';

/** A down stream the server offered this client. */
export interface DownStream {
  id: string;
  label: string;
  username: string;
  source: string;
  /** The stream this one replaced, if its offer said so. */
  replace?: string;
  viewer: ViewerPeer;
  closed: boolean;
}

/**
 * A protocol v2 client with werift media, for tests and benchmarks: it publishes a PublisherPeer as an up
 * stream, and answers every stream the server offers with a ViewerPeer (one PeerConnection per stream).
 */
export class MediaClient {
  readonly streams = new Map<string, DownStream>();

  constructor(
    readonly ws: WsClient,
    readonly username: string,
    private readonly viewerOptions: { stunPort: number; hash?: boolean },
  ) {
    ws.onMessage((m) => void this.onMessage(m).catch((err: unknown) => ws.errors.push(err)));
  }

  static async join(opts: { url: string; group: string; username: string; password?: string; stunPort: number; hash?: boolean }) {
    const { c, joined } = await WsClient.join(opts.url, opts.group, opts.username, opts.password);
    if (joined.kind !== 'join') throw new Error(`join failed: ${String(joined.value)}`);
    return new MediaClient(c, opts.username, { stunPort: opts.stunPort, hash: opts.hash });
  }

  get id(): string {
    return this.ws.id;
  }

  /** Asks for streams, Galène style: `{"": ["audio","video"]}` by default. */
  request(request: Record<string, string[]> = { '': ['audio', 'video'] }): void {
    this.ws.send({ type: 'request', source: this.id, username: this.username, request });
  }

  /** Publishes a peer as one up stream; resolves with its id once the server's answer is applied. */
  async publish(label: string, peer: PublisherPeer, replace?: string): Promise<string> {
    const id = randomBytes(16).toString('hex');
    const sdp = await peer.createOffer();
    this.ws.send({ type: 'offer', id, label, replace, source: this.id, username: this.username, sdp });
    const reply = await this.ws.next((m) => (m.type === 'answer' || m.type === 'abort') && m.id === id, 10_000);
    if (reply.type === 'abort') throw new Error('the server aborted the stream');
    await peer.setAnswer(reply.sdp!);
    return id;
  }

  unpublish(id: string): void {
    this.ws.send({ type: 'close', id, source: this.id, username: this.username });
  }

  private async onMessage(m: Message): Promise<void> {
    if (m.type === 'offer' && m.id) {
      let s = this.streams.get(m.id);
      if (!s || s.closed) {
        // a new stream (an offer after a close under the same id is a new stream, as in Galène's client)
        s = {
          id: m.id,
          label: m.label ?? '',
          username: m.username ?? '',
          source: m.source ?? '',
          replace: m.replace,
          viewer: new ViewerPeer(this.viewerOptions),
          closed: false,
        };
        this.streams.set(m.id, s);
      }
      const sdp = await s.viewer.answer(m.sdp!);
      this.ws.send({ type: 'answer', id: m.id, source: this.id, username: this.username, sdp });
    } else if (m.type === 'close' && m.id) {
      const s = this.streams.get(m.id);
      if (s) {
        s.closed = true;
        await s.viewer.close();
      }
    }
  }

  async close(): Promise<void> {
    this.ws.close();
    await Promise.all([...this.streams.values()].map((s) => s.viewer.close()));
  }
}
