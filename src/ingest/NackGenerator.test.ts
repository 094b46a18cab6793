import { describe, expect, it } from 'vitest';
import { NackGenerator, NEED_KEYFRAME } from './NackGenerator.js';

describe('NackGenerator', () => {
  it('NACKs a gap once the stream is lateBy packets past it', () => {
    const g = new NackGenerator({ lateBy: 2 });
    expect(g.onPacket(100, 0)).toBeUndefined();
    expect(g.onPacket(101, 0)).toBeUndefined();
    expect(g.onPacket(103, 0)).toBeUndefined(); // 102 missing, only 1 behind
    expect(g.onPacket(104, 0)).toEqual([102]);
    expect(g.onPacket(105, 1)).toBeUndefined(); // already NACKed, retry not due
  });

  it('does not NACK a reordered packet that arrives in time', () => {
    const g = new NackGenerator({ lateBy: 3 });
    g.onPacket(10, 0);
    g.onPacket(12, 0);
    g.onPacket(11, 0); // reordered
    expect(g.onPacket(13, 0)).toBeUndefined();
    expect(g.onPacket(14, 0)).toBeUndefined();
    expect(g.pending).toBe(0);
  });

  it('retries after retryMs, up to maxTries, and stops when the packet arrives', () => {
    const g = new NackGenerator({ lateBy: 1, retryMs: 100, maxTries: 3 });
    g.onPacket(1, 0);
    expect(g.onPacket(3, 0)).toEqual([2]);
    expect(g.onPacket(4, 50)).toBeUndefined();
    expect(g.onPacket(5, 100)).toEqual([2]);
    expect(g.onPacket(6, 200)).toEqual([2]);
    expect(g.onPacket(7, 300)).toBeUndefined(); // gave up after 3
    expect(g.onPacket(9, 400)).toEqual([8]);
    g.onPacket(8, 450); // retransmission arrived
    expect(g.onPacket(10, 600)).toBeUndefined();
    expect(g.pending).toBe(0);
  });

  it('works across the uint16 wrap', () => {
    const g = new NackGenerator({ lateBy: 2 });
    g.onPacket(65534, 0);
    expect(g.onPacket(1, 0)).toEqual([65535]); // 65535 and 0 missing; 65535 is 2 behind
    expect(g.onPacket(2, 0)).toEqual([0]);
    expect(g.onPacket(3, 0)).toBeUndefined();
  });

  it('treats a big jump as a restart', () => {
    const g = new NackGenerator({ lateBy: 1, maxGap: 100 });
    g.onPacket(10, 0);
    expect(g.onPacket(5000, 0)).toBeUndefined();
    expect(g.pending).toBe(0);
  });

  it('gives up and asks for a keyframe when too much is missing', () => {
    const g = new NackGenerator({ lateBy: 1, maxPending: 50 });
    g.onPacket(0, 0);
    expect(g.onPacket(30, 0)).toEqual(Array.from({ length: 29 }, (_, i) => i + 1));
    expect(g.onPacket(60, 0)).toBe(NEED_KEYFRAME);
    expect(g.pending).toBe(0);
    expect(g.onPacket(61, 0)).toBeUndefined();
  });

  it('forgets packets older than maxAge', () => {
    const g = new NackGenerator({ lateBy: 1, maxAge: 10, maxTries: 100, retryMs: 0 });
    g.onPacket(0, 0);
    g.onPacket(2, 0);
    for (let s = 3; s < 11; s++) g.onPacket(s, s);
    expect(g.pending).toBe(1);
    g.onPacket(11, 11);
    expect(g.pending).toBe(0);
  });

  it('answers viewer requests for cache misses, once per retry interval', () => {
    const g = new NackGenerator({ retryMs: 100, maxAge: 400 });
    for (let s = 500; s < 600; s++) g.onPacket(s, 0);
    expect(g.request([550, 551], 10)).toEqual([550, 551]);
    expect(g.request([550], 50)).toEqual([]);
    expect(g.request([550], 120)).toEqual([550]);
    expect(g.request([10], 120)).toEqual([]); // too old
    expect(g.request([700], 120)).toEqual([]); // in the future
  });
});
