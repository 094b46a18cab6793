import { describe, expect, it } from 'vitest';
import { MIN_LOSS_RATE, RateController, REMB_TTL_MS } from './RateController.js';

describe('RateController', () => {
  it('has no limit without feedback, and the REMB while it is recent', () => {
    const rc = new RateController();
    expect(rc.limit(0)).toBeUndefined();
    rc.onRemb(800_000, 1000);
    expect(rc.limit(1000)).toBe(800_000);
    expect(rc.limit(1000 + REMB_TTL_MS + 1)).toBeUndefined();
    rc.onRemb(0, 2000); // ignored
    expect(rc.limit(2000)).toBe(800_000);
  });

  it.each([
    // loss, sent rate, previous estimate (undefined = none), expected estimate
    [0.5, 1_000_000, undefined, 750_000],
    [0.2, 1_000_000, undefined, 900_000],
    [0.2, 1_000_000, 600_000, 540_000],
    [0.2, 500_000, 2_000_000, 450_000], // starts from what was actually sent
    [1.0, 60_000, undefined, MIN_LOSS_RATE],
    [0.05, 1_000_000, 600_000, 600_000], // between the thresholds: hold
    [0.05, 1_000_000, undefined, undefined],
    [0.0, 1_000_000, undefined, undefined],
    [0.01, 300_000, 600_000, 660_000], // low loss: grow by 10%
    [0.0, 200_000, 760_000, 836_000], // grows even while less is sent (on a lower layer)
  ] as const)('loss %s at %s bit/s, estimate %s -> %s', (loss, sent, prev, expected) => {
    const rc = new RateController();
    if (prev !== undefined) {
      // Reach `prev` through a report: 100% loss halves the rate sent.
      rc.onLoss(1, prev * 2);
      expect(rc.lossEstimate).toBe(prev);
    }
    rc.onLoss(loss, sent);
    if (expected === undefined) expect(rc.lossEstimate).toBeUndefined();
    else expect(rc.lossEstimate).toBeCloseTo(expected, 6);
  });

  it('the limit is the smaller of REMB and the loss estimate', () => {
    const rc = new RateController();
    rc.onRemb(2_000_000, 0);
    rc.onLoss(0.4, 1_000_000);
    expect(rc.limit(0)).toBe(800_000);
    rc.onRemb(500_000, 10);
    expect(rc.limit(10)).toBe(500_000);
  });

  it('with TWCC, the delay estimate is a third limit, and stops limiting when it is withdrawn', () => {
    const rc = new RateController();
    rc.onRemb(2_000_000, 0);
    rc.onLoss(0.4, 1_000_000); // 800 kbit/s
    rc.onDelayEstimate(450_000);
    expect(rc.limit(0)).toBe(450_000);
    rc.onDelayEstimate(undefined);
    expect(rc.limit(0)).toBe(800_000);
  });

  it('recovers from a lossy spell within a bounded number of clean reports', () => {
    const rc = new RateController();
    rc.onLoss(0.5, 1_200_000);
    rc.onLoss(0.5, 300_000); // now on the low layer
    const low = rc.lossEstimate!;
    expect(low).toBeLessThan(300_000);
    let reports = 0;
    while (rc.lossEstimate !== undefined && rc.lossEstimate < 1_400_000) {
      rc.onLoss(0, 300_000);
      reports++;
    }
    expect(reports).toBeLessThanOrEqual(25);
  });
});
