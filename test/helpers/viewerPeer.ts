/**
 * A werift viewer for tests and benchmarks: answers a down-stream offer, records what it receives (sequence
 * number, timestamp, SSRC, a hash of the payload, keyframes), and can drop packets on its receive path to
 * provoke NACKs.
 */
import { createHash } from 'node:crypto';
import { RTCPeerConnection, type RtpPacket } from 'werift';
import { isKeyframe } from '../../src/forward/keyframe.js';
import { loopbackPeerConfig } from './loopbackStun.js';
import { opusCodec, resumeIceAfterRestart, vp8Codec, whenConnected, whenGathered } from './mediaSource.js';
import { patchWeriftClient } from './weriftClient.js';

export interface Received {
  seq: number;
  ts: number;
  ssrc: number;
  marker: boolean;
  hash: string;
  keyframe: boolean;
  /** Number of RTP header extensions the packet carried. */
  extensions: number;
  /** performance.now() at arrival */
  at: number;
}

export interface ViewerOptions {
  stunPort: number;
  /** Record payload hashes (costs a SHA-1 per packet). Default true. */
  hash?: boolean;
}

export function payloadHash(payload: Uint8Array): string {
  return createHash('sha1').update(payload).digest('base64');
}

export class ViewerPeer {
  readonly pc: RTCPeerConnection;
  readonly video: Received[] = [];
  readonly audio: Received[] = [];
  /** performance.now() when the connection reached 'connected'. */
  connectedAt: number | undefined;
  /** Sequence numbers dropped on purpose, in order. */
  readonly dropped: number[] = [];
  private readonly hash: boolean;
  private dropFilter: ((p: RtpPacket) => boolean) | undefined;
  private readonly droppedOnce = new Set<string>();
  private stopIceRetry: (() => void) | undefined;

  constructor(opts: ViewerOptions) {
    this.hash = opts.hash ?? true;
    this.pc = new RTCPeerConnection({
      ...loopbackPeerConfig(opts.stunPort),
      codecs: { video: [vp8Codec()], audio: [opusCodec()] },
    });
    this.pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected' && this.connectedAt === undefined) this.connectedAt = performance.now();
    });
    this.pc.onTrack.subscribe((track) => {
      const into = track.kind === 'video' ? this.video : this.audio;
      track.onReceiveRtp.subscribe((p) => {
        into.push({
          seq: p.header.sequenceNumber,
          ts: p.header.timestamp,
          ssrc: p.header.ssrc,
          marker: p.header.marker,
          hash: this.hash ? payloadHash(p.payload) : '',
          keyframe: track.kind === 'video' && isKeyframe('vp8', p.payload),
          extensions: p.header.extensions.length,
          at: performance.now(),
        });
      });
    });
  }

  /** Answers the server's offer; returns the answer (candidates embedded). */
  async answer(offerSdp: string): Promise<string> {
    await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    this.stopIceRetry ??= patchWeriftClient(this.pc);
    this.installDropHook();
    // werift's receiver stops NACKing a packet after 10 tries 5 ms apart: too soon on a busy test machine.
    for (const t of this.pc.getTransceivers()) {
      const nack = (t.receiver as unknown as { nack?: { retryCount: number } }).nack;
      if (nack) nack.retryCount = 200;
    }
    await this.pc.setLocalDescription(await this.pc.createAnswer());
    await whenGathered(this.pc);
    resumeIceAfterRestart(this.pc);
    return this.pc.localDescription!.sdp;
  }

  connected(): Promise<void> {
    return whenConnected(this.pc);
  }

  /** The SSRC the offer announced for a kind (what the server sends this viewer). */
  offeredSsrc(kind: 'audio' | 'video'): number | undefined {
    const sdp = this.pc.remoteDescription?.sdp ?? '';
    const section = sdp.split(/\r\nm=/).find((s) => s.startsWith(`${kind} `) || s.startsWith(`m=${kind} `));
    const m = section && /a=ssrc:(\d+)/.exec(section);
    return m ? Number(m[1]) : undefined;
  }

  /**
   * Drops (once each) the incoming RTP packets the predicate selects, after SRTP decryption and before
   * werift's receiver sees them: the receiver NACKs them like real loss.
   */
  dropWhen(predicate: ((p: RtpPacket) => boolean) | undefined): void {
    this.dropFilter = predicate;
  }

  private installDropHook(): void {
    for (const dtls of this.pc.dtlsTransports) {
      const ev = dtls.onRtp;
      const original = ev.execute;
      ev.execute = (p: RtpPacket) => {
        const f = this.dropFilter;
        if (f && f(p)) {
          const key = `${p.header.ssrc}:${p.header.sequenceNumber}`;
          if (!this.droppedOnce.has(key)) {
            this.droppedOnce.add(key);
            this.dropped.push(p.header.sequenceNumber);
            return;
          }
        }
        original(p);
      };
    }
  }

  /** Sends a PLI for the video track to the server. */
  async sendPli(): Promise<void> {
    const t = this.pc.getTransceivers().find((x) => x.kind === 'video');
    const ssrc = this.offeredSsrc('video');
    if (t && ssrc !== undefined) await t.receiver.sendRtcpPLI(ssrc);
  }

  close(): Promise<void> {
    this.stopIceRetry?.();
    return this.pc.close();
  }
}
