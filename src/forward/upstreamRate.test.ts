import { describe, expect, it } from 'vitest';
import { bestViewerRate, LOW_BITRATE, MAX_BITRATE, MIN_BITRATE, upstreamRate } from './upstreamRate.js';

describe('upstreamRate', () => {
  it.each([
    // kind, rid, best viewer, expected
    ['video', undefined, undefined, MAX_BITRATE],
    ['video', 'h', undefined, MAX_BITRATE],
    ['video', 'h', 1_500_000, 1_500_000],
    ['video', 'h', 50_000, MIN_BITRATE],
    ['video', 'h', 50_000_000, MAX_BITRATE],
    ['video', 'l', undefined, LOW_BITRATE],
    ['video', 'l', 20_000, LOW_BITRATE],
    ['video', 'l', 400_000, 400_000],
    ['audio', undefined, 5_000_000, LOW_BITRATE],
  ] as const)('%s rid=%s best=%s -> %s', (kind, rid, best, expected) => {
    expect(upstreamRate(kind, rid, best)).toBe(expected);
  });

  it('honours configured limits', () => {
    expect(upstreamRate('video', 'h', 5_000_000, { min: 100_000, low: 50_000, max: 2_000_000 })).toBe(2_000_000);
    expect(upstreamRate('video', undefined, undefined, { min: 100_000, low: 50_000, max: 2_000_000 })).toBe(2_000_000);
  });

  it('bestViewerRate takes the maximum and ignores missing or bogus reports', () => {
    expect(bestViewerRate([])).toBeUndefined();
    expect(bestViewerRate([undefined, undefined])).toBeUndefined();
    expect(bestViewerRate([300_000, undefined, 2_000_000, 150_000])).toBe(2_000_000);
    expect(bestViewerRate([NaN, 0, -1, 10])).toBe(10);
  });
});
