import { describe, expect, it } from 'vitest';
import { SeqRewriter } from './SeqRewriter.js';

function mapAll(rw: SeqRewriter, ssrc: number, packets: [number, number][]): ([number, number] | null)[] {
  return packets.map(([seq, ts]) => (rw.map(ssrc, seq, ts) ? [rw.seq, rw.ts] : null));
}

describe('SeqRewriter', () => {
  it('is the identity for a single source', () => {
    const rw = new SeqRewriter(3000);
    expect(mapAll(rw, 1, [[100, 9000], [101, 9000], [102, 12000]])).toEqual([[100, 9000], [101, 9000], [102, 12000]]);
    expect(rw.upSeq(101)).toBe(101);
    expect(rw.upSeq(99)).toBe(-1); // before the first packet
    expect(rw.upSeq(103)).toBe(-1); // not sent yet
  });

  it('keeps numbering continuous across a source switch, also at the wrap', () => {
    const rw = new SeqRewriter(3000);
    mapAll(rw, 1, [[65534, 0xfffff000], [65535, 0xfffff000]]);
    // timestamps continue one switch gap (3000) after the last one, and wrap too
    expect(mapAll(rw, 2, [[500, 77], [501, 3077]])).toEqual([[0, 0xfffff000 + 3000], [1, 0xfffff000 + 6000 - 0x100000000]]);
    expect(rw.upSeq(1)).toBe(501);
    expect(rw.upSeq(65535)).toBe(-1); // belongs to the previous source
  });

  it('remembers the previous source for NACKs after a switch', () => {
    const rw = new SeqRewriter(3000);
    mapAll(rw, 1, [[65530, 10], [65531, 10], [65532, 20]]);
    mapAll(rw, 2, [[7, 500]]);
    expect(rw.upSeq(65532)).toBe(-1);
    expect([65529, 65530, 65532, 65533].map((d) => rw.prevUpSeq(d))).toEqual([-1, 65530, 65532, -1]);
    expect(rw.prevMapTs(20)).toBe(20);
    expect(rw.upSeq(65533)).toBe(7);
  });

  it('drops live packets from before the join', () => {
    const rw = new SeqRewriter(3000);
    rw.startContiguous(1, 1000, 0);
    expect(rw.map(1, 999, 0)).toBe(false);
    expect(rw.map(1, 1000, 0)).toBe(true);
    expect(rw.map(1, 1001, 0)).toBe(true);
  });

  it('numbers a fresh keyframe replay right before the live edge', () => {
    const rw = new SeqRewriter(3000);
    // keyframe = upstream 200..202 (ts 5000), live edge at 259, next live packet 260
    const base = rw.startRenumbered(7, [200, 201, 202], 5000, 5000, 260);
    expect(base).toBe(257);
    expect(rw.mapTs(5000)).toBe(5000);
    expect(rw.map(7, 258, 9000)).toBe(false); // late live packet inside the replayed block
    expect(rw.map(7, 260, 9000)).toBe(true);
    expect([rw.seq, rw.ts]).toEqual([260, 9000]);
    expect(rw.upSeq(257)).toBe(200);
    expect(rw.upSeq(259)).toBe(202);
    expect(rw.upSeq(260)).toBe(260);
    expect(rw.upSeq(256)).toBe(-1);
  });

  it('renumbers a replay across the wrap', () => {
    const rw = new SeqRewriter(3000);
    const base = rw.startRenumbered(7, [100, 101], 0, 0, 1);
    expect(base).toBe(65535);
    expect(rw.upSeq(65535)).toBe(100);
    expect(rw.upSeq(0)).toBe(101);
    expect(rw.map(7, 1, 3000)).toBe(true);
    expect(rw.seq).toBe(1);
  });

  it('numbers a replay after a switch after what was sent, and continues the live stream after it', () => {
    const rw = new SeqRewriter(3000);
    mapAll(rw, 1, [[10, 1000], [11, 4000]]);
    const base = rw.startRenumbered(2, [500, 501], 70000, 70000, 600);
    expect(base).toBe(12);
    expect(rw.mapTs(70000)).toBe(7000);
    expect(rw.map(2, 600, 73000)).toBe(true);
    expect([rw.seq, rw.ts]).toEqual([14, 10000]);
    expect(rw.upSeq(13)).toBe(501);
    expect(rw.upSeq(14)).toBe(600);
  });

  it('maps a contiguous replay by offset, leaving holes for NACKs', () => {
    const rw = new SeqRewriter(3000);
    rw.startContiguous(3, 40, 100);
    expect(mapAll(rw, 3, [[40, 100], [42, 100], [43, 3100]])).toEqual([[40, 100], [42, 100], [43, 3100]]);
    expect(rw.upSeq(41)).toBe(41);
    expect(rw.map(3, 41, 100)).toBe(true); // the hole filled later is forwarded
  });
});

describe('SeqRewriter.skip (packets left out on purpose)', () => {
  it('numbers the packets around skipped ones without a gap, and maps NACKs back to the right packets', () => {
    const rw = new SeqRewriter(3000);
    const down = new Map<number, number>(); // up seq -> down seq
    for (let up = 65530; up !== 12; up = (up + 1) & 0xffff) {
      if (up === 65533 || up === 1 || up === 2 || up === 7) {
        rw.skip(1, up, up * 10);
        continue;
      }
      expect(rw.map(1, up, up * 10)).toBe(true);
      down.set(up, rw.seq);
    }
    const seqs = [...down.values()];
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) & 0xffff);
    for (const [up, d] of down) expect(rw.upSeq(d)).toBe(up);
  });

  it('a late packet from before a skip keeps the number of its time', () => {
    const rw = new SeqRewriter(3000);
    rw.map(1, 100, 0);
    rw.skip(1, 102, 0);
    rw.map(1, 103, 0); // sent as 102
    expect(rw.seq).toBe(102);
    rw.map(1, 101, 0); // late: still 101
    expect(rw.seq).toBe(101);
    expect(rw.upSeq(101)).toBe(101);
    expect(rw.upSeq(102)).toBe(103);
  });

  it('a late packet cannot be skipped after later ones went out', () => {
    const rw = new SeqRewriter(3000);
    rw.map(1, 100, 0);
    rw.map(1, 102, 0);
    rw.skip(1, 101, 0); // too late: 101 stays a gap in the numbering
    rw.map(1, 103, 0);
    expect(rw.seq).toBe(103);
  });
});
