/**
 * Seeded malformed inputs for the parser fuzz test: random bytes in each protocol's first-byte range, and
 * structured packets (RTP, RTCP, STUN, DTLS) whose length fields, counts and flags are random, some
 * consistent with the bytes that follow and most not. The same seed gives the same inputs.
 */

/** mulberry32: a small seeded PRNG, good enough to spread inputs. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The datagram of the report: RTP, X bit, one-byte extension block claiming 0xFFFF words, then zeros. */
export const HANGING_RTP = Buffer.from(`906f00000000000000000000bedeffff${'00'.repeat(39)}`, 'hex');

type Rand = () => number;

const int = (r: Rand, n: number): number => Math.floor(r() * n);
const pick = <T>(r: Rand, xs: readonly T[]): T => xs[int(r, xs.length)]!;

/** Bytes that are all zero, all one value, or random: the fills that walk parsers differently. */
function fill(r: Rand, n: number): Buffer {
  const b = Buffer.alloc(n);
  const mode = int(r, 4);
  if (mode === 1) b.fill(pick(r, [0x11, 0xff, 0x01, 0x80, 0x10]));
  else if (mode >= 2) for (let i = 0; i < n; i++) b[i] = int(r, 256);
  return b;
}

/** A 16-bit length: mostly the true one (so that parsers get past it), else off by a little, or anything. */
function length16(r: Rand, truth: number): number {
  const m = int(r, 8);
  if (m <= 4) return truth & 0xffff;
  if (m === 5) return Math.max(0, truth + int(r, 9) - 4) & 0xffff;
  if (m === 2) return 0xffff;
  return int(r, 0x10000);
}

function rtp(r: Rand): Buffer {
  const cc = int(r, 16);
  const head = Buffer.alloc(12 + 4 * cc);
  const ext = r() < 0.7;
  head[0] = 0x80 | (r() < 0.2 ? 0x20 : 0) | (ext ? 0x10 : 0) | cc;
  head[1] = int(r, 128) | (r() < 0.5 ? 0x80 : 0);
  head.writeUInt32BE(int(r, 2 ** 32), 8);
  const parts: Buffer[] = [head];
  if (ext) {
    const body = fill(r, 4 * int(r, 12));
    const h = Buffer.alloc(4);
    h.writeUInt16BE(pick(r, [0xbede, 0x1000, 0x1003, int(r, 0x10000)]), 0);
    h.writeUInt16BE(length16(r, body.length / 4), 2);
    parts.push(h, body);
  }
  parts.push(fill(r, int(r, 64)));
  return Buffer.concat(parts);
}

function rtcpPacket(r: Rand): Buffer {
  const type = pick(r, [200, 201, 202, 203, 204, 205, 206, 207, 192, 193, int(r, 256)]);
  const count = type === 205 || type === 206 ? pick(r, [1, 15, int(r, 32)]) : int(r, 32);
  const body = fill(r, 4 * int(r, 24));
  // TWCC feedback (RTPFB 15): the packet status count, at byte 10 of the body, is what its parser loops on
  if (type === 205 && body.length >= 16) body.writeUInt16BE(pick(r, [0xffff, int(r, 0x10000), 1]), 10);
  if (type === 206 && count === 15 && body.length >= 12) body.write('REMB', 8, 'latin1');
  const h = Buffer.alloc(4);
  h[0] = 0x80 | (r() < 0.15 ? 0x20 : 0) | count;
  h[1] = type;
  h.writeUInt16BE(length16(r, body.length / 4), 2);
  return Buffer.concat([h, body]);
}

function rtcp(r: Rand): Buffer {
  return Buffer.concat(Array.from({ length: 1 + int(r, 4) }, () => rtcpPacket(r)));
}

function stun(r: Rand): Buffer {
  const attrs: Buffer[] = [];
  for (let i = int(r, 8); i > 0; i--) {
    const value = fill(r, int(r, 40));
    const h = Buffer.alloc(4);
    h.writeUInt16BE(pick(r, [0x0006, 0x0008, 0x8028, 0x0020, 0x0024, 0x8029, 0x802a, 0x0025, int(r, 0x10000)]), 0);
    h.writeUInt16BE(length16(r, value.length), 2);
    attrs.push(h, value, Buffer.alloc((4 - (value.length % 4)) % 4));
  }
  const body = Buffer.concat(attrs);
  const h = Buffer.alloc(20);
  h.writeUInt16BE(pick(r, [0x0001, 0x0101, 0x0111, 0x0011, int(r, 0x4000)]), 0);
  h.writeUInt16BE(length16(r, body.length), 2);
  h.writeUInt32BE(r() < 0.9 ? 0x2112a442 : int(r, 2 ** 32), 4);
  return Buffer.concat([h, body]);
}

function handshakeFragment(r: Rand): Buffer {
  const fragment = fill(r, int(r, 200));
  const total = pick(r, [fragment.length, fragment.length, int(r, 300), 0xffffff, int(r, 0x1000000)]);
  const h = Buffer.alloc(12);
  h[0] = pick(r, [1, 2, 3, 11, 12, 13, 14, 15, 16, 20, int(r, 256)]);
  h.writeUIntBE(total, 1, 3);
  h.writeUInt16BE(int(r, 4), 4);
  h.writeUIntBE(pick(r, [0, 0, int(r, 300), int(r, 0x1000000)]), 6, 3);
  h.writeUIntBE(pick(r, [fragment.length, int(r, 0x1000000)]), 9, 3);
  return Buffer.concat([h, fragment]);
}

function dtls(r: Rand): Buffer {
  const records: Buffer[] = [];
  for (let i = 1 + int(r, 3); i > 0; i--) {
    const type = pick(r, [20, 21, 22, 22, 22, 23, int(r, 44) + 20]);
    const body = type === 22 ? Buffer.concat(Array.from({ length: 1 + int(r, 3) }, () => handshakeFragment(r))) : fill(r, int(r, 80));
    const h = Buffer.alloc(13);
    h[0] = type;
    h[1] = r() < 0.9 ? 0xfe : int(r, 256);
    h[2] = pick(r, [0xfd, 0xff]);
    h.writeUInt16BE(r() < 0.8 ? 0 : int(r, 3), 3);
    h.writeUIntBE(int(r, 2 ** 32), 5, 6);
    h.writeUInt16BE(length16(r, body.length), 11);
    records.push(h, body);
  }
  return Buffer.concat(records);
}

/** Random bytes whose first byte falls in one of RFC 7983's ranges (or none). */
function noise(r: Rand): Buffer {
  const b = fill(r, 1 + int(r, 200));
  b[0] = pick(r, [int(r, 4), 20 + int(r, 44), 128 + int(r, 64), int(r, 256)]);
  return b;
}

/** Named cases first, then `n` generated inputs of the given makers. */
export function inputs(seed: number, n: number, makers: readonly ((r: Rand) => Buffer)[]): Buffer[] {
  const r = prng(seed);
  const out: Buffer[] = [HANGING_RTP, Buffer.from(HANGING_RTP.toString('hex').slice(0, 32) + '11'.repeat(39), 'hex')];
  for (let i = 0; i < n; i++) out.push(pick(r, makers)(r));
  return out;
}

export const makers = { rtp, rtcp, stun, dtls, noise };
