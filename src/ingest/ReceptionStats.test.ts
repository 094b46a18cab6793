import { describe, expect, it } from 'vitest';
import { ReceptionStats } from './ReceptionStats.js';

describe('ReceptionStats', () => {
  it('counts loss across the wrap', () => {
    const s = new ReceptionStats(90000);
    for (let i = 0; i < 20; i++) {
      const seq = (65530 + i) & 0xffff;
      if (i === 7 || i === 8) continue; // lose 65537 & 65538 -> 1 and 2
      s.onPacket(seq, i * 3000, i * 33.3333);
    }
    expect(s.expected).toBe(20);
    expect(s.totalLost).toBe(2);
    expect(s.intervalLoss()).toBeCloseTo(0.1);
    for (let i = 20; i < 30; i++) s.onPacket((65530 + i) & 0xffff, i * 3000, i * 33.3333);
    expect(s.intervalLoss()).toBe(0);
  });

  it('has no jitter for perfectly paced packets and some for irregular ones', () => {
    const s = new ReceptionStats(90000);
    for (let i = 0; i < 100; i++) s.onPacket(i, i * 3000, i * (1000 / 30));
    expect(s.jitterMs).toBeLessThan(0.05);
    const t = new ReceptionStats(90000);
    for (let i = 0; i < 100; i++) t.onPacket(i, i * 3000, i * (1000 / 30) + (i % 2) * 10);
    expect(t.jitterMs).toBeGreaterThan(5);
  });

  it('does not count a late packet as expected twice', () => {
    const s = new ReceptionStats(48000);
    s.onPacket(10, 0, 0);
    s.onPacket(12, 1920, 40);
    s.onPacket(11, 960, 41);
    expect(s.expected).toBe(3);
    expect(s.totalLost).toBe(0);
  });
});
