/**
 * STUN message codec for the built-in TURN server (RFC 5389/8489 framing, RFC 5766/8656 attributes).
 * Every input is untrusted: `parseStun` checks each length against the datagram and returns undefined for
 * anything malformed, never throws. IPv4 only for addresses (as Galène's built-in server).
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const COOKIE = 0x2112a442;

export const Method = { Binding: 0x001, Allocate: 0x003, Refresh: 0x004, Send: 0x006, Data: 0x007, CreatePermission: 0x008, ChannelBind: 0x009 } as const;
export const Class = { Request: 0, Indication: 1, Success: 2, Error: 3 } as const;

export const Attr = {
  Username: 0x0006,
  MessageIntegrity: 0x0008,
  ErrorCode: 0x0009,
  ChannelNumber: 0x000c,
  Lifetime: 0x000d,
  XorPeerAddress: 0x0012,
  Data: 0x0013,
  Realm: 0x0014,
  Nonce: 0x0015,
  XorRelayedAddress: 0x0016,
  RequestedAddressFamily: 0x0017,
  EvenPort: 0x0018,
  RequestedTransport: 0x0019,
  DontFragment: 0x001a,
  XorMappedAddress: 0x0020,
  ReservationToken: 0x0022,
  Software: 0x8022,
  Fingerprint: 0x8028,
} as const;

/** Attributes per message: a TURN request carries about eight. */
const MAX_ATTRIBUTES = 40;

export interface StunAttribute {
  type: number;
  value: Buffer;
  /** Offset of the attribute header in the message. */
  offset: number;
}

export interface StunMessage {
  method: number;
  cls: number;
  tid: Buffer;
  attrs: StunAttribute[];
  raw: Buffer;
}

export interface Address {
  ip: string;
  port: number;
}

export function isChannelData(b: Uint8Array): boolean {
  return b.length >= 4 && b[0]! >= 0x40 && b[0]! <= 0x7f;
}

/** The whole length of the STUN message or ChannelData frame at the start of `b` (for TCP framing), or undefined if not either. */
export function frameLength(b: Buffer, tcp: boolean): number | undefined {
  if (b.length < 4) return undefined;
  if (b[0]! <= 1) return 20 + b.readUInt16BE(2);
  if (isChannelData(b)) {
    const n = 4 + b.readUInt16BE(2);
    return tcp ? (n + 3) & ~3 : n;
  }
  return undefined;
}

/** A well-formed STUN message, or undefined. */
export function parseStun(b: Buffer): StunMessage | undefined {
  if (b.length < 20 || (b[0]! & 0xc0) !== 0) return undefined;
  const type = b.readUInt16BE(0);
  const len = b.readUInt16BE(2);
  if (len % 4 !== 0 || 20 + len > b.length || b.readUInt32BE(4) !== COOKIE) return undefined;
  const raw = b.subarray(0, 20 + len);
  const attrs: StunAttribute[] = [];
  let off = 20;
  while (off < raw.length) {
    if (off + 4 > raw.length || attrs.length >= MAX_ATTRIBUTES) return undefined;
    const t = raw.readUInt16BE(off);
    const l = raw.readUInt16BE(off + 2);
    if (off + 4 + l > raw.length) return undefined;
    attrs.push({ type: t, value: raw.subarray(off + 4, off + 4 + l), offset: off });
    off += 4 + ((l + 3) & ~3);
  }
  if (off !== raw.length) return undefined;
  const method = (type & 0x000f) | ((type & 0x00e0) >> 1) | ((type & 0x3e00) >> 2);
  const cls = ((type & 0x0100) >> 7) | ((type & 0x0010) >> 4);
  return { method, cls, tid: Buffer.from(raw.subarray(8, 20)), attrs, raw };
}

export function getAttr(m: StunMessage, type: number): Buffer | undefined {
  return m.attrs.find((a) => a.type === type)?.value;
}

/** XOR-*-ADDRESS value (IPv4 only), or undefined if malformed or IPv6. */
export function decodeXorAddress(v: Buffer | undefined): Address | undefined {
  if (!v || v.length !== 8 || v[1] !== 1) return undefined;
  const port = v.readUInt16BE(2) ^ (COOKIE >>> 16);
  const a = (v.readUInt32BE(4) ^ COOKIE) >>> 0;
  return { ip: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`, port };
}

export function encodeXorAddress(a: Address): Buffer {
  const v = Buffer.alloc(8);
  v[1] = 1;
  v.writeUInt16BE(a.port ^ (COOKIE >>> 16), 2);
  const n = a.ip.split('.').reduce((acc, p) => (acc << 8) + Number(p), 0) >>> 0;
  v.writeUInt32BE((n ^ COOKIE) >>> 0, 4);
  return v;
}

/** True if `b` carries an IPv6 address family (RFC 8656: 443 Peer Address Family Mismatch). */
export function isIpv6Address(v: Buffer | undefined): boolean {
  return !!v && v.length >= 2 && v[1] === 2;
}

/** The long-term credential key: MD5(username ":" realm ":" password). */
export function longTermKey(username: string, realm: string, password: string): Buffer {
  return createHash('md5').update(`${username}:${realm}:${password}`).digest();
}

/** True if the message has a MESSAGE-INTEGRITY that verifies with `key`. */
export function checkIntegrity(m: StunMessage, key: Buffer): boolean {
  const mi = m.attrs.find((a) => a.type === Attr.MessageIntegrity);
  if (!mi || mi.value.length !== 20) return false;
  const head = Buffer.from(m.raw.subarray(0, mi.offset));
  head.writeUInt16BE(mi.offset + 24 - 20, 2);
  const mac = createHmac('sha1', key).update(head).digest();
  return timingSafeEqual(mac, mi.value);
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(b: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = CRC_TABLE[(c ^ b[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** True if the message has no FINGERPRINT, or one that matches (a wrong one means it is not STUN). */
export function fingerprintOk(m: StunMessage): boolean {
  const i = m.attrs.findIndex((a) => a.type === Attr.Fingerprint);
  if (i < 0) return true;
  const fp = m.attrs[i]!;
  if (i !== m.attrs.length - 1 || fp.value.length !== 4) return false;
  const head = Buffer.from(m.raw.subarray(0, fp.offset));
  head.writeUInt16BE(fp.offset + 8 - 20, 2);
  return ((crc32(head) ^ 0x5354554e) >>> 0) === fp.value.readUInt32BE(0);
}

/** Builds a STUN message; with `key`, MESSAGE-INTEGRITY is appended last. */
export function encodeStun(method: number, cls: number, tid: Buffer, attrs: [number, Buffer][], key?: Buffer): Buffer {
  const type = (method & 0x000f) | ((method & 0x0070) << 1) | ((method & 0x0f80) << 2) | ((cls & 2) << 7) | ((cls & 1) << 4);
  const parts: Buffer[] = [];
  for (const [t, v] of attrs) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(t, 0);
    h.writeUInt16BE(v.length, 2);
    parts.push(h, v, Buffer.alloc((4 - (v.length % 4)) % 4));
  }
  const body = Buffer.concat(parts);
  const head = Buffer.alloc(20);
  head.writeUInt16BE(type, 0);
  head.writeUInt16BE(body.length + (key ? 24 : 0), 2);
  head.writeUInt32BE(COOKIE, 4);
  tid.copy(head, 8, 0, 12);
  const msg = Buffer.concat([head, body]);
  if (!key) return msg;
  const mi = Buffer.alloc(4);
  mi.writeUInt16BE(Attr.MessageIntegrity, 0);
  mi.writeUInt16BE(20, 2);
  return Buffer.concat([msg, mi, createHmac('sha1', key).update(msg).digest()]);
}

export function errorCodeAttr(code: number, reason: string): [number, Buffer] {
  const r = Buffer.from(reason, 'utf8');
  const v = Buffer.alloc(4 + r.length);
  v[2] = Math.floor(code / 100);
  v[3] = code % 100;
  r.copy(v, 4);
  return [Attr.ErrorCode, v];
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0, 0);
  return b;
}

/** A ChannelData frame; over TCP padded to a multiple of four bytes (RFC 8656 12.5). */
export function encodeChannelData(channel: number, data: Buffer, tcp: boolean): Buffer {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(channel, 0);
  h.writeUInt16BE(data.length, 2);
  const pad = tcp ? (4 - (data.length % 4)) % 4 : 0;
  return Buffer.concat([h, data, Buffer.alloc(pad)]);
}
