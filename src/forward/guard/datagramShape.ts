/**
 * Framing checks for a datagram that arrived at a media socket, before anything parses it.
 *
 * Every byte here is unauthenticated: SRTP keeps RTP headers and the first RTCP header in clear, STUN
 * requests are read before their MESSAGE-INTEGRITY is checked, and DTLS handshake records of epoch 0 are
 * plain. werift 0.24.4's parsers trust the length fields they read (its RTP header parser walks an extension
 * block as long as the header claims, past the end of the datagram, copying its list of elements at each
 * one: a 55-byte datagram keeps it busy for minutes), so `datagramProblem` checks every length and count
 * against the datagram and against what WebRTC can legitimately send, and names the first problem found.
 *
 * Demultiplexing follows RFC 7983 (first byte: 0-3 STUN, 20-63 DTLS, 128-191 RTP/RTCP; RTCP by packet type,
 * RFC 5761). Pure functions, no allocation.
 */

export type DatagramKind = 'stun' | 'dtls' | 'rtp' | 'rtcp';

/** RTP header extension elements per packet: one-byte ids run 1..14 (RFC 8285); WebRTC sends a handful. */
export const MAX_RTP_EXTENSIONS = 16;
/** DTLS records per datagram and handshake fragments per record (a flight is a few of each). */
export const MAX_DTLS_RECORDS = 16;
export const MAX_HANDSHAKE_FRAGMENTS = 16;
/** A DTLS handshake message, whole (a WebRTC certificate message is about 1 KB; chains stay far below this). */
export const MAX_HANDSHAKE_BYTES = 32 * 1024;
/** DTLS record payload limit (RFC 6347 4.1 and RFC 5246 6.2.3: 2^14 plus the ciphertext expansion). */
const MAX_DTLS_RECORD_BYTES = 16384 + 2048;
/** Packets in a compound RTCP packet (a browser's has two to four). */
export const MAX_RTCP_PACKETS = 32;
/** STUN attributes per message (a binding request has about six). */
const MAX_STUN_ATTRIBUTES = 32;

const STUN_COOKIE = 0x2112a442;
const DTLS_HANDSHAKE = 22;
/** The RTCP packet types of RFC 5761's range that WebRTC uses: FIR/NACK (RFC 2032) and SR..XR. */
const RTCP_TYPES = new Set([192, 193, 200, 201, 202, 203, 204, 205, 206, 207]);

/** The protocol of a datagram by its first bytes (RFC 7983), or undefined for none WebRTC uses. */
export function datagramKind(b: Uint8Array): DatagramKind | undefined {
  const first = b[0];
  if (first === undefined) return undefined;
  if (first <= 3) return 'stun';
  if (first >= 20 && first <= 63) return 'dtls';
  if (first >= 128 && first <= 191 && b.length >= 2) return b[1]! >= 192 && b[1]! <= 223 ? 'rtcp' : 'rtp';
  return undefined;
}

/** Why this datagram must not reach a parser, or undefined when its framing is sound. */
export function datagramProblem(b: Uint8Array): string | undefined {
  switch (datagramKind(b)) {
    case 'stun':
      return stunProblem(b);
    case 'dtls':
      return dtlsProblem(b);
    case 'rtp':
      return rtpProblem(b);
    case 'rtcp':
      return rtcpProblem(b);
    default:
      return 'not STUN, DTLS, RTP or RTCP';
  }
}

function u16(b: Uint8Array, at: number): number {
  return (b[at]! << 8) | b[at + 1]!;
}

function u24(b: Uint8Array, at: number): number {
  return (b[at]! << 16) | (b[at + 1]! << 8) | b[at + 2]!;
}

/** RFC 8489 5 and 14: a 20-byte header whose length is the rest of the datagram, then whole attributes. */
function stunProblem(b: Uint8Array): string | undefined {
  if (b.length < 20) return 'STUN: shorter than its header';
  if (((b[4]! << 24) | (b[5]! << 16) | (b[6]! << 8) | b[7]!) >>> 0 !== STUN_COOKIE) return 'STUN: no magic cookie';
  const length = u16(b, 2);
  if (length % 4 !== 0 || 20 + length !== b.length) return 'STUN: length does not match the datagram';
  let count = 0;
  for (let at = 20; at < b.length; count++) {
    if (count === MAX_STUN_ATTRIBUTES) return 'STUN: too many attributes';
    if (at + 4 > b.length) return 'STUN: truncated attribute header';
    const valueLength = u16(b, at + 2);
    at += 4 + valueLength + ((4 - (valueLength % 4)) % 4);
    if (at > b.length) return 'STUN: attribute runs past the datagram';
  }
  return undefined;
}

/**
 * RFC 6347 4.1 and 4.2.2: whole records of DTLS 1.x, and in plain handshake records (epoch 0) whole fragments
 * that lie inside the message they belong to. Encrypted records (epoch > 0) are checked by their MAC before
 * anything reads inside them; `handshakeFragmentProblem` checks their fragments after decryption.
 */
function dtlsProblem(b: Uint8Array): string | undefined {
  let records = 0;
  for (let at = 0; at < b.length; records++) {
    if (records === MAX_DTLS_RECORDS) return 'DTLS: too many records';
    if (at + 13 > b.length) return 'DTLS: truncated record header';
    const type = b[at]!;
    if (type < 20 || type > 23) return 'DTLS: unknown record type';
    if (b[at + 1] !== 0xfe) return 'DTLS: not a DTLS version';
    const length = u16(b, at + 11);
    if (length > MAX_DTLS_RECORD_BYTES) return 'DTLS: record too long';
    const end = at + 13 + length;
    if (end > b.length) return 'DTLS: record runs past the datagram';
    if (type === DTLS_HANDSHAKE && u16(b, at + 3) === 0) {
      const problem = handshakeRecordProblem(b, at + 13, end);
      if (problem) return problem;
    }
    at = end;
  }
  return undefined;
}

function handshakeRecordProblem(b: Uint8Array, start: number, end: number): string | undefined {
  let fragments = 0;
  for (let at = start; at < end; fragments++) {
    if (fragments === MAX_HANDSHAKE_FRAGMENTS) return 'DTLS: too many handshake fragments';
    if (at + 12 > end) return 'DTLS: truncated handshake fragment header';
    const fragmentLength = u24(b, at + 9);
    const problem = handshakeFragmentProblem(u24(b, at + 1), u24(b, at + 6), fragmentLength);
    if (problem) return problem;
    at += 12 + fragmentLength;
    if (at > end) return 'DTLS: handshake fragment runs past its record';
  }
  return undefined;
}

/** A handshake fragment must lie inside its message, and the message must have a plausible size. */
export function handshakeFragmentProblem(length: number, offset: number, fragmentLength: number): string | undefined {
  if (length > MAX_HANDSHAKE_BYTES) return 'DTLS: handshake message too long';
  if (offset + fragmentLength > length) return 'DTLS: handshake fragment outside its message';
  return undefined;
}

/**
 * RFC 3550 5.1 and RFC 8285 (version 2 is implied by the first byte's range): the CSRC list and the extension block inside the datagram, and the
 * extension block made of whole elements, not too many. (With SRTP the padding count is encrypted: werift
 * reads it only after authentication.)
 */
function rtpProblem(b: Uint8Array): string | undefined {
  if (b.length < 12) return 'RTP: shorter than its header';
  let at = 12 + 4 * (b[0]! & 0x0f);
  if (at > b.length) return 'RTP: CSRC list runs past the datagram';
  if ((b[0]! & 0x10) === 0) return undefined;
  if (at + 4 > b.length) return 'RTP: truncated extension header';
  const profile = u16(b, at);
  const end = at + 4 + 4 * u16(b, at + 2);
  if (end > b.length) return 'RTP: extension runs past the datagram';
  at += 4;
  if (profile === 0xbede) return extensionElementsProblem(b, at, end, 1);
  if ((profile & 0xfff0) === 0x1000) return extensionElementsProblem(b, at, end, 2);
  return undefined; // another profile: one opaque block, read as such
}

/** RFC 8285 4.2 (one-byte headers: id 15 ends the block) and 4.3 (two-byte headers); zero bytes are padding. */
function extensionElementsProblem(b: Uint8Array, at: number, end: number, headerBytes: 1 | 2): string | undefined {
  let elements = 0;
  while (at < end) {
    const first = b[at]!;
    if (first === 0) {
      at++;
      continue;
    }
    if (headerBytes === 1 && first >> 4 === 15) return undefined;
    if (elements === MAX_RTP_EXTENSIONS) return 'RTP: too many header extensions';
    if (headerBytes === 2 && at + 1 >= end) return 'RTP: truncated header extension';
    const length = headerBytes === 1 ? (first & 0x0f) + 1 : b[at + 1]!;
    at += headerBytes + length;
    if (at > end) return 'RTP: header extension runs past its block';
    elements++;
  }
  return undefined;
}

/**
 * RFC 3550 6.4 and RFC 3711 3.4: a known packet type, and the first packet inside the datagram
 * (the packets after it are encrypted; `rtcpCompoundProblem` checks them once decrypted).
 */
function rtcpProblem(b: Uint8Array): string | undefined {
  if (b.length < 8) return 'RTCP: shorter than its header';
  if (!RTCP_TYPES.has(b[1]!)) return 'RTCP: unknown packet type';
  if (4 + 4 * u16(b, 2) > b.length) return 'RTCP: packet runs past the datagram';
  return undefined;
}

/** A decrypted compound RTCP packet: each packet of version 2 with its length inside the rest. */
export function rtcpCompoundProblem(b: Uint8Array): string | undefined {
  let packets = 0;
  for (let at = 0; at < b.length; packets++) {
    if (packets === MAX_RTCP_PACKETS) return 'RTCP: too many packets in a compound';
    if (at + 4 > b.length) return 'RTCP: truncated packet header';
    if (b[at]! >> 6 !== 2) return 'RTCP: not version 2';
    const end = at + 4 + 4 * u16(b, at + 2);
    if (end > b.length) return 'RTCP: packet runs past the compound';
    if ((b[at]! & 0x20) !== 0 && b[end - 1]! > end - at - 4) return 'RTCP: padding longer than the packet';
    at = end;
  }
  return undefined;
}
