/**
 * The few EBML (Matroska/WebM) encoding primitives the recorder needs: element ids, sizes as variable-length
 * integers, and unsigned/float/string/binary payloads. See RFC 8794 (EBML) and RFC 9559 (Matroska).
 */

export const ID = {
  EBML: 0x1a45dfa3,
  EBMLVersion: 0x4286,
  EBMLReadVersion: 0x42f7,
  EBMLMaxIDLength: 0x42f2,
  EBMLMaxSizeLength: 0x42f3,
  DocType: 0x4282,
  DocTypeVersion: 0x4287,
  DocTypeReadVersion: 0x4285,
  Segment: 0x18538067,
  Info: 0x1549a966,
  TimestampScale: 0x2ad7b1,
  Duration: 0x4489,
  MuxingApp: 0x4d80,
  WritingApp: 0x5741,
  Tracks: 0x1654ae6b,
  TrackEntry: 0xae,
  TrackNumber: 0xd7,
  TrackUID: 0x73c5,
  TrackType: 0x83,
  FlagLacing: 0x9c,
  CodecID: 0x86,
  CodecPrivate: 0x63a2,
  CodecDelay: 0x56aa,
  SeekPreRoll: 0x56bb,
  Video: 0xe0,
  PixelWidth: 0xb0,
  PixelHeight: 0xba,
  Audio: 0xe1,
  SamplingFrequency: 0xb5,
  Channels: 0x9f,
  Cluster: 0x1f43b675,
  Timestamp: 0xe7,
  SimpleBlock: 0xa3,
} as const;

/** "Unknown size" in 8 bytes: a Segment whose size is patched when the file is finalized. */
export const UNKNOWN_SIZE_8 = Buffer.from([0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);

function idBytes(id: number): Buffer {
  const len = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const b = Buffer.alloc(len);
  b.writeUIntBE(id, 0, len);
  return b;
}

/** A size as an EBML variable-length integer, in the fewest bytes (or exactly `width` bytes). */
export function vint(n: number, width?: number): Buffer {
  let len = 1;
  while (n >= 2 ** (7 * len) - 1) len++;
  if (width !== undefined) {
    if (width < len) throw new RangeError(`${n} does not fit a ${width}-byte EBML size`);
    len = width;
  }
  if (len > 8) throw new RangeError(`EBML size too large: ${n}`);
  const b = Buffer.alloc(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  b[0]! |= 0x80 >> (len - 1);
  return b;
}

export function element(id: number, ...payload: Buffer[]): Buffer {
  const body = Buffer.concat(payload);
  return Buffer.concat([idBytes(id), vint(body.length), body]);
}

export function uint(id: number, n: number): Buffer {
  let len = 1;
  while (len < 8 && n >= 2 ** (8 * len)) len++;
  const b = Buffer.alloc(len);
  let v = n;
  for (let i = len - 1; i >= 0; i--) {
    b[i] = v % 256;
    v = Math.floor(v / 256);
  }
  return element(id, b);
}

export function float64(id: number, x: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeDoubleBE(x);
  return element(id, b);
}

export function str(id: number, s: string): Buffer {
  return element(id, Buffer.from(s, 'utf8'));
}

/** An element header whose size is written in 8 bytes (unknown until patched). */
export function openElement(id: number): Buffer {
  return Buffer.concat([idBytes(id), UNKNOWN_SIZE_8]);
}
