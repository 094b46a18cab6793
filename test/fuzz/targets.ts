/**
 * What the fuzz threads call: each target is a parser as the server runs it, behind the guards the server
 * installs (`installWeriftFixes`), except the one named "unguarded", which shows the hole the guards close.
 */
import { DtlsClient, DtlsServer, parseMessage, RTCDtlsTransport, RtcpPacketConverter, RtpPacket, TransportWideCC } from 'werift';
import { isKeyframe } from '../../src/forward/keyframe.js';
import { datagramKind, datagramProblem } from '../../src/forward/guard/datagramShape.js';
import { feedbackArrivals } from '../../src/forward/twcc.js';
import { vp8TemporalLayer, Vp8Rewriter } from '../../src/forward/Vp8Rewriter.js';
import { installWeriftFixes } from '../../src/forward/weriftFixes.js';

installWeriftFixes();

const STUN_KEY = Buffer.from('0123456789abcdefghijkl');
const certificate = await RTCDtlsTransport.SetupCertificate();
/** A DTLS session of each role on a transport that goes nowhere; fragments they buffer persist across inputs. */
const transport = { type: 'fuzz', address: {}, onData: (): void => undefined, send: async (): Promise<void> => undefined, close: async (): Promise<void> => undefined };
const dtlsOptions = {
  cert: certificate.certPem,
  key: certificate.privateKey,
  signatureHash: certificate.signatureHash,
  transport,
  srtpProfiles: [7, 1],
  extendedMasterSecret: true,
  certificateRequest: true,
};
/** werift's record-layer entry point of a DTLS session (private in its types). */
type DtlsEntry = { udpOnMessage(b: Buffer): void };
const dtlsSessions = [new DtlsServer(dtlsOptions as never), new DtlsClient(dtlsOptions as never)] as unknown as DtlsEntry[];
const vp8 = new Vp8Rewriter();

/** Every target, by name. */
export const targets: Record<string, (b: Buffer) => void> = {
  /** werift's RTP parser on raw bytes, as werift 0.24.4 runs it on every datagram before SRTP authentication. */
  'rtp, unguarded': (b) => {
    RtpPacket.deSerialize(b);
  },

  /** One datagram at a media socket: the framing guard, then the parser werift runs before authentication. */
  datagram: (b) => {
    if (datagramProblem(b) !== undefined) return;
    switch (datagramKind(b)) {
      case 'rtp':
        RtpPacket.deSerialize(b);
        break;
      case 'stun':
        parseMessage(b);
        parseMessage(b, STUN_KEY);
        break;
      case 'dtls':
        for (const session of dtlsSessions) session.udpOnMessage(b);
        break;
      default:
    }
  },

  /** Decrypted compound RTCP (from a peer that holds keys): werift's parser, then ours on its TWCC feedback. */
  'rtcp, decrypted': (b) => {
    for (const p of RtcpPacketConverter.deSerialize(b)) {
      const feedback = (p as { feedback?: unknown }).feedback;
      if (feedback instanceof TransportWideCC) feedbackArrivals(feedback);
    }
  },

  /** Decrypted RTP payload: keyframe detection per codec, VP8 temporal layer, VP8 picture-id rewriting. */
  'rtp payload': (b) => {
    isKeyframe('vp8', b);
    isKeyframe('vp9', b);
    isKeyframe('h264', b);
    vp8TemporalLayer(b);
    vp8.rewrite(b);
  },
};
