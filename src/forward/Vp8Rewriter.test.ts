import { describe, expect, it } from 'vitest';
import { isKeyframe } from './keyframe.js';
import { vp8TemporalLayer, Vp8Rewriter } from './Vp8Rewriter.js';

/** A VP8 payload: descriptor with a 15-bit (or 7-bit) picture id and TL0PICIDX, then a payload header byte. */
function vp8(pic: number, tl0: number, opts: { short?: boolean; key?: boolean } = {}): Buffer {
  const picBytes = opts.short ? [pic & 0x7f] : [0x80 | ((pic >> 8) & 0x7f), pic & 0xff];
  return Buffer.from([0x90, 0xc0, ...picBytes, tl0 & 0xff, opts.key ? 0x00 : 0x01, 0xaa, 0xbb]);
}

function ids(p: Buffer, short = false): [number, number] {
  return short ? [p[2]! & 0x7f, p[3]!] : [((p[2]! & 0x7f) << 8) | p[3]!, p[4]!];
}

describe('Vp8Rewriter', () => {
  it('passes the first source through untouched (same buffer)', () => {
    const r = new Vp8Rewriter();
    const p = vp8(1234, 7, { key: true });
    r.restart(p);
    expect(r.rewrite(p)).toBe(p);
    expect(r.rewriting).toBe(false);
  });

  it.each([
    // last sent (pic, tl0) of layer A, first (pic, tl0) of layer B
    ['mid-range', [100, 10], [5000, 200]],
    ['A at the 15-bit wrap', [0x7fff, 255], [3, 3]],
    ['B just before the wrap', [10, 0], [0x7ffe, 254]],
    ['equal ids', [42, 42], [42, 42]],
  ] as const)('continues picture id and TL0PICIDX across a switch (%s)', (_name, [aPic, aTl0], [bPic, bTl0]) => {
    const r = new Vp8Rewriter();
    const a = vp8(aPic, aTl0);
    expect(ids(r.rewrite(a))).toEqual([aPic, aTl0]);
    const bKey = vp8(bPic, bTl0, { key: true });
    const original = Buffer.from(bKey);
    r.restart(bKey);
    const out = r.rewrite(bKey);
    expect(ids(out)).toEqual([(aPic + 1) & 0x7fff, (aTl0 + 1) & 0xff]);
    expect(isKeyframe('vp8', out)).toBe(true);
    expect(out.subarray(5)).toEqual(bKey.subarray(5)); // the rest of the payload is intact
    expect(bKey).toEqual(original); // the shared upstream payload is never modified
    // the following pictures of B keep counting, across the wrap
    for (let i = 1; i <= 3; i++) {
      const next = r.rewrite(vp8((bPic + i) & 0x7fff, bTl0 + i));
      expect(ids(next)).toEqual([(aPic + 1 + i) & 0x7fff, (aTl0 + 1 + i) & 0xff]);
    }
  });

  it('switching back continues from what was sent, not from the source', () => {
    const r = new Vp8Rewriter();
    r.rewrite(vp8(500, 5));
    const b = vp8(9000, 90, { key: true });
    r.restart(b);
    r.rewrite(b);
    r.rewrite(vp8(9001, 91)); // sent as 502, 7
    const a = vp8(520, 25, { key: true });
    r.restart(a);
    expect(ids(r.rewrite(a))).toEqual([503, 8]);
  });

  it('handles 7-bit picture ids at their wrap', () => {
    const r = new Vp8Rewriter();
    r.rewrite(vp8(127, 1, { short: true }));
    const b = vp8(60, 200, { short: true, key: true });
    r.restart(b);
    expect(ids(r.rewrite(b), true)).toEqual([0, 2]);
    expect(ids(r.rewrite(vp8(61, 201, { short: true })), true)).toEqual([1, 3]);
  });

  it('leaves payloads without picture id or TL0PICIDX, and truncated ones, alone', () => {
    const r = new Vp8Rewriter();
    r.rewrite(vp8(100, 1));
    r.restart(vp8(7, 7, { key: true }));
    for (const p of [Buffer.from([0x10, 0x00]), Buffer.from([0x90]), Buffer.from([0x90, 0x80]), Buffer.from([0x90, 0x80, 0x85]), Buffer.alloc(0)]) {
      expect(r.rewrite(p)).toBe(p);
    }
  });

  it('does not allocate a new backing buffer per packet', () => {
    const r = new Vp8Rewriter();
    r.rewrite(vp8(1, 1));
    r.restart(vp8(50, 50, { key: true }));
    const a = r.rewrite(vp8(50, 50, { key: true }));
    const b = r.rewrite(vp8(51, 51));
    expect(a.buffer).toBe(b.buffer);
  });
});

describe('vp8TemporalLayer', () => {
  it('reads the TID after a 15-bit picture id and TL0PICIDX, and after a 7-bit one', () => {
    // X=1 S=1 | I L T | M + 15-bit picture id | TL0PICIDX | TID=2 Y=1 KEYIDX=0
    expect(vp8TemporalLayer(Uint8Array.from([0x90, 0xe0, 0x81, 0x23, 0x07, 0xa0, 0x9d]))).toBe(2);
    // X=1 | I T | 7-bit picture id | TID=1
    expect(vp8TemporalLayer(Uint8Array.from([0x90, 0xa0, 0x12, 0x40, 0x9d]))).toBe(1);
    // X=1 | T only | TID=0
    expect(vp8TemporalLayer(Uint8Array.from([0x90, 0x20, 0x00, 0x9d]))).toBe(0);
  });

  it('is -1 without the T bit (what ffmpeg and non-layered encoders send), and on a truncated descriptor', () => {
    expect(vp8TemporalLayer(Uint8Array.from([0x90, 0x80, 0x81, 0x23, 0x9d]))).toBe(-1);
    expect(vp8TemporalLayer(Uint8Array.from([0x10, 0x9d]))).toBe(-1);
    expect(vp8TemporalLayer(Uint8Array.from([0x90, 0xe0, 0x81, 0x23, 0x07]))).toBe(-1);
  });
});
