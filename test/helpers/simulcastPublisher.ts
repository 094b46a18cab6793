/**
 * A simulcast publisher for tests: a werift peer that offers one video m-line with rids `h` and `l` (as
 * Galène's client does) to an UpConnection, and two ffmpeg encoders (two sizes and bitrates) whose packets
 * are written as the two layers, on two SSRCs with the mid and rid header extensions (a werift sender cannot
 * send simulcast itself). Every payload sent is recorded by layer, as a hash of the VP8 frame data after the
 * payload descriptor (the server rewrites picture ids in the descriptor after a layer switch).
 */
import { isKeyframe } from '../../src/forward/keyframe.js';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RtpHeader,
  RtpPacket,
  serializeSdesMid,
  serializeSdesRTPStreamID,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  type RTCRtpTransceiver,
} from 'werift';
import type { IceOptions } from '../../src/forward/types.js';
import { UpConnection } from '../../src/ingest/UpConnection.js';
import { silentLogger } from '../../src/log.js';
import { loopbackPeerConfig } from './loopbackStun.js';
import { startTestMedia, vp8Codec, whenConnected, whenGathered, type TestMedia, type TestMediaOptions } from './mediaSource.js';
import { payloadHash } from './viewerPeer.js';

export type Rid = 'h' | 'l';

export interface SimulcastPublisher {
  readonly up: UpConnection;
  readonly pc: RTCPeerConnection;
  /** Hashes of the VP8 frame data (vp8Body) of every packet sent, per layer. */
  readonly sent: Record<Rid, Set<string>>;
  /** Which layer a payload (as received by a viewer) came from, or undefined. */
  layerOf(payload: Uint8Array): Rid | undefined;
  close(): Promise<void>;
}

/** Length of a VP8 payload descriptor (RFC 7741 §4.2), or 0 if it cannot be parsed. */
export function vp8DescriptorLength(p: Uint8Array): number {
  if (p.length < 1) return 0;
  let i = 1;
  if (p[0]! & 0x80) {
    const x = p[1] ?? 0;
    i = 2;
    if (x & 0x80) i += (p[i] ?? 0) & 0x80 ? 2 : 1;
    if (x & 0x40) i += 1;
    if (x & 0x30) i += 1;
  }
  return i <= p.length ? i : 0;
}

/** The 15-bit (or 7-bit) VP8 picture id of a payload, or -1. */
export function vp8PictureId(p: Uint8Array): number {
  if (p.length < 3 || !(p[0]! & 0x80) || !(p[1]! & 0x80)) return -1;
  return p[2]! & 0x80 ? ((p[2]! & 0x7f) << 8) | (p[3] ?? 0) : p[2]! & 0x7f;
}

export function vp8BodyHash(p: Uint8Array): string {
  return payloadHash(p.subarray(vp8DescriptorLength(p)));
}

export interface SimulcastPublisherOptions {
  stunPort: number;
  ice: IceOptions;
  id?: string;
  /** Per-layer encoder settings (defaults: h 640x360 900k, l 320x180 150k, a keyframe every second). */
  h?: TestMediaOptions;
  l?: TestMediaOptions;
  /**
   * Mark the frames of these layers with VP8 temporal layer ids, in the L1T3 pattern 0, 2, 1, 2 by frame
   * (a T byte added to ffmpeg's descriptor). The encoder does not really use temporal layers: a viewer that is
   * sent fewer of them cannot decode every frame; what is tested is what the server forwards.
   */
  temporalLayers?: Rid[];
}

/** Adds a TID byte (T bit set, Y and KEYIDX 0) after the picture id / TL0PICIDX of a VP8 descriptor. */
export function withTemporalLayer(p: Uint8Array, tid: number): Buffer {
  const x = p[1]!;
  let i = 2;
  if (x & 0x80) i += p[i]! & 0x80 ? 2 : 1;
  if (x & 0x40) i += 1;
  return Buffer.concat([Uint8Array.from([p[0]! | 0x80, x | 0x20]), p.subarray(2, i), Uint8Array.from([tid << 6]), p.subarray(i)]);
}

const L1T3 = [0, 2, 1, 2];

/**
 * A werift peer whose offer has one sendonly video m-line with rids `h` and `l` and the mid / rid /
 * repaired-rid header extensions, as Galène's client offers simulcast (gathering complete).
 */
export async function simulcastOfferPeer(stunPort: number): Promise<{ pc: RTCPeerConnection; transceiver: RTCRtpTransceiver }> {
  const pc = new RTCPeerConnection({
    ...loopbackPeerConfig(stunPort),
    codecs: { video: [vp8Codec()], audio: [] },
    headerExtensions: { video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()], audio: [] },
  });
  const transceiver = pc.addTransceiver(new MediaStreamTrack({ kind: 'video' }), {
    direction: 'sendonly',
    simulcast: [
      { direction: 'send', rid: 'h' },
      { direction: 'send', rid: 'l' },
    ],
  });
  await pc.setLocalDescription(await pc.createOffer());
  await whenGathered(pc);
  return { pc, transceiver };
}

/** The header-extension ids an answer chose for the mid and the rid. */
export function extensionIds(answerSdp: string): { mid: number; rid: number } {
  const id = (uri: string) => Number(new RegExp(`a=extmap:(\\d+) ${uri}`).exec(answerSdp)![1]);
  return { mid: id('urn:ietf:params:rtp-hdrext:sdes:mid'), rid: id('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id') };
}

export async function startSimulcastPublisher(opts: SimulcastPublisherOptions): Promise<SimulcastPublisher> {
  const closers: (() => Promise<unknown> | void)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const { pc, transceiver } = await simulcastOfferPeer(opts.stunPort);
    closers.push(() => pc.close());
    const { conn: up, answerSdp } = await UpConnection.accept(
      {
        id: opts.id ?? 'simulcast',
        label: 'camera',
        clientId: 'publisher',
        username: 'speaker',
        codecs: ['vp8', 'opus'],
        ice: opts.ice,
        log: silentLogger,
      },
      pc.localDescription!.sdp,
    );
    closers.push(() => up.close('test over'));
    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    await whenConnected(pc);
    const ids = extensionIds(answerSdp);
    const midExt = { id: ids.mid, payload: serializeSdesMid(transceiver.mid!) };
    const dtls = transceiver.dtlsTransport;
    const sent: Record<Rid, Set<string>> = { h: new Set(), l: new Set() };
    const layers: [Rid, number, TestMediaOptions][] = [
      ['h', 0x1000, { width: 640, height: 360, videoBitrate: '900k', gop: 30, ...opts.h }],
      ['l', 0x2000, { width: 320, height: 180, videoBitrate: '150k', gop: 30, ...opts.l }],
    ];
    for (const [rid, ssrc, mediaOpts] of layers) {
      const media: TestMedia = await startTestMedia({ audio: false, videoSsrc: ssrc, ...mediaOpts });
      closers.push(() => media.close());
      const ridExt = { id: ids.rid, payload: serializeSdesRTPStreamID(rid) };
      const tids = opts.temporalLayers?.includes(rid) ?? false;
      let frame = 0;
      media.onVideo((rtp) => {
        if (pc.connectionState !== 'connected') return;
        const p = RtpPacket.deSerialize(rtp);
        if (tids) {
          if (isKeyframe('vp8', p.payload)) frame = 0; // a keyframe starts the pattern on layer 0
          p.payload = withTemporalLayer(p.payload, L1T3[frame % 4]!);
          if (p.header.marker) frame++;
        }
        sent[rid].add(vp8BodyHash(p.payload));
        const header = new RtpHeader({
          ssrc,
          payloadType: 96,
          sequenceNumber: p.header.sequenceNumber,
          timestamp: p.header.timestamp,
          marker: p.header.marker,
          extensions: [midExt, ridExt],
        });
        void dtls.sendRtp(p.payload, header);
      });
    }
    return {
      up,
      pc,
      sent,
      layerOf(payload) {
        const h = vp8BodyHash(payload);
        return sent.h.has(h) ? 'h' : sent.l.has(h) ? 'l' : undefined;
      },
      close,
    };
  } catch (e) {
    await close();
    throw e;
  }
}
