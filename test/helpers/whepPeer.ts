/**
 * A werift WHEP client for tests: offers recvonly audio + video (VP8, Opus) with candidates embedded, and
 * records what it receives (payload hashes, keyframes) like ViewerPeer does for the WebSocket protocol.
 */
import { RTCPeerConnection } from 'werift';
import { isKeyframe } from '../../src/forward/keyframe.js';
import { loopbackPeerConfig } from './loopbackStun.js';
import { opusCodec, resumeIceAfterRestart, vp8Codec, whenConnected, whenGathered } from './mediaSource.js';
import { vp8BodyHash } from './simulcastPublisher.js';
import { payloadHash } from './viewerPeer.js';

export interface WhepReceived {
  /** Hash of the frame data (video: after the VP8 descriptor, whose picture id the server may rewrite). */
  hash: string;
  keyframe: boolean;
  payloadType: number;
}

export class WhepPeer {
  readonly pc: RTCPeerConnection;
  readonly video: WhepReceived[] = [];
  readonly audio: WhepReceived[] = [];

  constructor(stunPort: number) {
    this.pc = new RTCPeerConnection({
      ...loopbackPeerConfig(stunPort),
      codecs: { video: [vp8Codec()], audio: [opusCodec()] },
    });
    this.pc.addTransceiver('video', { direction: 'recvonly' });
    this.pc.addTransceiver('audio', { direction: 'recvonly' });
    this.pc.onTrack.subscribe((track) => {
      const into = track.kind === 'video' ? this.video : this.audio;
      track.onReceiveRtp.subscribe((p) => {
        into.push({
          hash: track.kind === 'video' ? vp8BodyHash(p.payload) : payloadHash(p.payload),
          keyframe: track.kind === 'video' && isKeyframe('vp8', p.payload),
          payloadType: p.header.payloadType,
        });
      });
    });
  }

  /** The offer, gathering complete. */
  async offer(opts: { iceRestart?: boolean } = {}): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer({ iceRestart: opts.iceRestart ?? false }));
    await whenGathered(this.pc);
    return this.pc.localDescription!.sdp;
  }

  async setAnswer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: 'answer', sdp });
    resumeIceAfterRestart(this.pc);
  }

  connected(): Promise<void> {
    return whenConnected(this.pc);
  }

  close(): Promise<void> {
    return this.pc.close();
  }
}
