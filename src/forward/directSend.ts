/**
 * The fan-out's per-packet send: SRTP-protect one RTP packet with the keys werift's DTLS handshake derived
 * and hand it to the ICE pair's UDP socket, synchronously.
 *
 * werift's own `RTCDtlsTransport.sendRtp` goes through four async functions per packet (a promise each),
 * serialises the header through a generic writer, builds the GCM nonce with another, and concatenates
 * header, ciphertext and tag into a fresh buffer. Here, for the profile werift peers and browsers settle on
 * (SRTP_AEAD_AES_128_GCM, RFC 7714), the header is written by hand, the nonce is XORed into a reusable
 * buffer, and header, ciphertext and tag go to the kernel as one datagram without being joined (sendmsg
 * with three iovecs). What node still allocates per packet: the cipher object (node cannot re-key a GCM
 * context with a new nonce), its output and the tag.
 *
 * Anything else (the AES-CM/HMAC-SHA1 profile, a TCP or TURN pair, header extensions) falls back to werift's
 * transport, which stays the owner of the keys and of RTCP either way. (The profile is the DTLS server's
 * choice: Chromium, the DTLS server of a WHEP session, chooses AES-CM.)
 */
import { createCipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import type dgram from 'node:dgram';
import { RtpHeader, type RTCDtlsTransport, type RTCRtpTransceiver } from 'werift';
import type { RtpSink } from './RtpDownTrack.js';
import type { TwccSender } from './twcc.js';

const PROFILE_AEAD_AES_128_GCM = 0x0007;
const HEADER_BYTES = 12;
/** A one-byte-header extension block (RFC 8285 §4.2) holding one 2-byte element: the TWCC sequence number. */
const TWCC_BLOCK_BYTES = 8;
const GCM_TAG_BYTES = 16;

/** The parts of werift's SRTP context used here (werift 0.24.4: rtp/src/srtp/context/context.js). */
interface WeriftSrtpContext {
  profile: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
}

/** The nominated ICE pair, as werift 0.24.4 keeps it (ice/src/iceBase.js CandidatePair). */
interface WeriftPair {
  remoteAddr: readonly [string, number];
  protocol: { transport?: { socket?: dgram.Socket } };
  packetsSent: number;
  bytesSent: number;
}

interface WeriftIce {
  nominated?: WeriftPair;
  canSendApplicationData(): boolean;
}

/**
 * Per-SSRC rollover counter of the sending side (RFC 3711 §3.3.1): `top` is the highest index (ROC·2¹⁶ +
 * seq) sent so far, and a packet's index is the one nearest to it, so a retransmission of a packet sent
 * before the sequence number wrapped still carries the ROC it had then.
 */
export class RolloverCounter {
  private top = -1;

  /** The ROC for this sequence number, advancing the counter when the packet is the newest yet. */
  roc(seq: number): number {
    if (this.top < 0) {
      this.top = seq;
      return 0;
    }
    const topSeq = this.top & 0xffff;
    let roc = Math.floor(this.top / 0x10000);
    if (topSeq < 0x8000) {
      if (seq - topSeq > 0x8000 && roc > 0) roc--;
    } else if (topSeq - 0x8000 > seq) {
      roc++;
    }
    const index = roc * 0x10000 + seq;
    if (index > this.top) this.top = index;
    return roc >>> 0;
  }
}

/** What a GCM sender keeps per DTLS session: the key as a KeyObject, the salt, a nonce buffer, the ROCs. */
export class GcmState {
  readonly key: KeyObject;
  readonly nonce = Buffer.alloc(12);
  private readonly rocs = new Map<number, RolloverCounter>();

  constructor(private readonly ctx: WeriftSrtpContext) {
    this.key = createSecretKey(ctx.srtpSessionKey);
  }

  matches(ctx: WeriftSrtpContext): boolean {
    return ctx === this.ctx;
  }

  /**
   * Protects one packet. Returns [header, ciphertext, tag]: the datagram, in three parts.
   * Nonce (RFC 7714 §8.1): salt XOR (00 00 | SSRC | ROC | SEQ).
   */
  protect(header: Buffer, payload: Buffer, ssrc: number, seq: number): [Buffer, Buffer, Buffer] {
    let rollover = this.rocs.get(ssrc);
    if (!rollover) this.rocs.set(ssrc, (rollover = new RolloverCounter()));
    const roc = rollover.roc(seq);
    const salt = this.ctx.srtpSessionSalt;
    const n = this.nonce;
    n[0] = salt[0]!;
    n[1] = salt[1]!;
    n.writeUInt32BE((salt.readUInt32BE(2) ^ ssrc) >>> 0, 2);
    n.writeUInt32BE((salt.readUInt32BE(6) ^ roc) >>> 0, 6);
    n.writeUInt16BE(salt.readUInt16BE(10) ^ seq, 10);
    const cipher = createCipheriv('aes-128-gcm', this.key, n);
    cipher.setAAD(header);
    const enc = cipher.update(payload);
    cipher.final();
    return [header, enc, cipher.getAuthTag()];
  }
}

const states = new WeakMap<RTCDtlsTransport, GcmState>();

/** Packets sent by the direct path and by werift's fallback, process-wide (tests check the path taken). */
export const directSendCounters = { direct: 0, fallback: 0 };

function gcmState(dtls: RTCDtlsTransport): GcmState | undefined {
  const ctx = (dtls.srtp as unknown as { localContext?: WeriftSrtpContext } | undefined)?.localContext;
  if (!ctx || ctx.profile !== PROFILE_AEAD_AES_128_GCM) return undefined;
  let state = states.get(dtls);
  if (!state || !state.matches(ctx)) {
    state = new GcmState(ctx);
    states.set(dtls, state);
  }
  return state;
}

/**
 * Datagrams protected during this task, sent together once it ends: a fan-out encrypts every viewer's
 * copy of a packet, then hands them all to the kernel in a row, which costs less than alternating
 * (bench/floorCore.ts measures both).
 */
const outbox: { socket: dgram.Socket; parts: Buffer[]; port: number; address: string }[] = [];

function flushOutbox(): void {
  for (const d of outbox) {
    try {
      d.socket.send(d.parts, d.port, d.address);
    } catch {
      // socket closed meanwhile: that connection is going away
    }
  }
  outbox.length = 0;
}

/**
 * The 12-byte RTP header (plus CSRCs) of a header without extensions or padding; with a `twccId` (1..14; 0:
 * none), followed by a one-byte-header extension carrying the transport-wide sequence number `twccSeq`.
 */
export function writeRtpHeader(h: RtpHeader, twccId = 0, twccSeq = 0): Buffer {
  const csrc = h.csrc;
  const fixed = HEADER_BYTES + 4 * csrc.length;
  const out = Buffer.allocUnsafe(fixed + (twccId ? TWCC_BLOCK_BYTES : 0));
  out[0] = 0x80 | (twccId ? 0x10 : 0) | csrc.length;
  out[1] = (h.marker ? 0x80 : 0) | h.payloadType;
  out.writeUInt16BE(h.sequenceNumber, 2);
  out.writeUInt32BE(h.timestamp >>> 0, 4);
  out.writeUInt32BE(h.ssrc >>> 0, 8);
  for (let i = 0; i < csrc.length; i++) out.writeUInt32BE(csrc[i]! >>> 0, HEADER_BYTES + 4 * i);
  if (twccId) {
    out.writeUInt32BE(0xbede0001, fixed); // profile, length 1 word
    out[fixed + 4] = (twccId << 4) | 1; // id, length - 1
    out.writeUInt16BE(twccSeq, fixed + 5);
    out[fixed + 7] = 0; // padding
  }
  return out;
}

/**
 * Sends one RTP packet to the viewer at the other end of `dtls` (which must be connected), at the end of the
 * current task. The header is serialised before this returns, so the caller may reuse it. With `twcc` (the
 * viewer negotiated transport-wide congestion control) the packet is numbered for its feedback, on either path.
 */
export function sendRtpDirect(dtls: RTCDtlsTransport, payload: Buffer, header: RtpHeader, twcc?: TwccSender): void {
  const ice = dtls.iceTransport.connection as unknown as WeriftIce;
  const pair = ice.nominated;
  const socket = pair?.protocol.transport?.socket;
  const state = socket && !header.extension && !header.padding && header.csrc.length < 16 ? gcmState(dtls) : undefined;
  // The size the TWCC history keeps (with the GCM tag: AES-CM's is 6 bytes shorter, too little to matter).
  const sizeWithTwcc = HEADER_BYTES + 4 * header.csrc.length + TWCC_BLOCK_BYTES + payload.length + GCM_TAG_BYTES;
  if (!pair || !socket || !state) {
    directSendCounters.fallback++;
    dtls.sendRtp(payload, twcc ? withTwccExtension(header, twcc.extensionId, twcc.next(sizeWithTwcc)) : header).catch(() => undefined);
    return;
  }
  if (!ice.canSendApplicationData()) return; // consent expired (RFC 7675): werift would drop it too
  const twccSeq = twcc ? twcc.next(sizeWithTwcc) : 0;
  const parts = state.protect(writeRtpHeader(header, twcc?.extensionId, twccSeq), payload, header.ssrc, header.sequenceNumber);
  const bytes = parts[0].length + parts[1].length + parts[2].length;
  if (outbox.length === 0) queueMicrotask(flushOutbox);
  outbox.push({ socket, parts, port: pair.remoteAddr[1], address: pair.remoteAddr[0] });
  directSendCounters.direct++;
  dtls.bytesSent += bytes;
  dtls.packetsSent++;
  pair.packetsSent++;
  pair.bytesSent += bytes;
}

/**
 * For werift's path: a copy of `header` with the transport-wide sequence number as one more one-byte-header
 * element (the caller's header is shared by every packet of its track, and werift's serialiser sets the
 * extension bit on the header it writes).
 */
export function withTwccExtension(header: RtpHeader, extensionId: number, twccSeq: number): RtpHeader {
  const seq = Buffer.allocUnsafe(2);
  seq.writeUInt16BE(twccSeq);
  return new RtpHeader({
    marker: header.marker,
    payloadType: header.payloadType,
    sequenceNumber: header.sequenceNumber,
    timestamp: header.timestamp,
    ssrc: header.ssrc,
    csrc: [...header.csrc],
    padding: header.padding,
    paddingSize: header.paddingSize,
    extensionProfile: header.extensionProfile,
    extensions: [...header.extensions, { id: extensionId, payload: seq }],
  });
}

/** A down track's sink: its transceiver's DTLS transport, once connected; `twcc` numbers its packets, if any. */
export function transceiverSink(transceiver: RTCRtpTransceiver, twcc: () => TwccSender | undefined = () => undefined): RtpSink {
  return {
    sendRtp(payload, header) {
      const dtls = transceiver.dtlsTransport;
      if (dtls?.state === 'connected') sendRtpDirect(dtls, payload, header, twcc());
    },
  };
}
