import { describe, expect, it } from 'vitest';
import { RateEstimator } from './RateEstimator.js';

describe('RateEstimator', () => {
  it('measures bits per second over the last period', () => {
    const r = new RateEstimator(0);
    for (let i = 0; i < 100; i++) r.add(1250); // 125 000 bytes
    expect(r.rate(1000)).toBe(1_000_000);
    for (let i = 0; i < 50; i++) r.add(1250);
    expect(r.rate(1500)).toBe(1_000_000); // too soon: keeps the last estimate
    expect(r.rate(2000)).toBe(500_000);
    expect(r.totalBytes).toBe(187_500);
    expect(r.totalPackets).toBe(150);
  });

  it('gives a provisional estimate before the first period', () => {
    const r = new RateEstimator(0);
    r.add(1000);
    expect(r.rate(500)).toBe(16_000);
    expect(r.rate(0)).toBe(0);
  });
});
