import { describe, expect, it } from 'vitest';
import { DECREASE, DelayEstimator, type DelaySample } from './DelayEstimator.js';

/**
 * A simulated path: packets of a 30 fps stream (each frame a burst of 1200-byte packets) go through a FIFO
 * bottleneck of `capacityBps` after 20 ms of propagation, with up to `jitterMs` of random extra delay; the
 * viewer's feedback every 100 ms carries what arrived since the last one.
 */
class Path {
  private queueFreeAt = 0;
  private pending: (DelaySample & { arrivalMs: number })[] = [];
  private seed = 1;
  constructor(
    public capacityBps: number,
    private readonly jitterMs = 0,
  ) {}

  private random(): number {
    this.seed = (this.seed * 16807) % 2147483647;
    return this.seed / 2147483647;
  }

  send(atMs: number, bytes: number): void {
    const serialised = Math.max(atMs, this.queueFreeAt) + (bytes * 8 * 1000) / this.capacityBps;
    this.queueFreeAt = serialised;
    this.pending.push({ sendMs: atMs, arrivalMs: serialised + 20 + this.random() * this.jitterMs, bytes });
  }

  /** What the viewer can report at `nowMs`. */
  feedback(nowMs: number): DelaySample[] {
    const arrived = this.pending.filter((p) => p.arrivalMs <= nowMs);
    this.pending = this.pending.filter((p) => p.arrivalMs > nowMs);
    return arrived;
  }
}

/** Runs `seconds` of a stream at `rateBps` through `path`, feeding the estimator; returns the new clock. */
function run(est: DelayEstimator, path: Path, startMs: number, seconds: number, rateBps: () => number): number {
  let t = startMs;
  const end = startMs + seconds * 1000;
  let nextFeedback = t + 100;
  while (t < end) {
    const packets = Math.max(1, Math.round(rateBps() / 8 / 30 / 1200));
    for (let i = 0; i < packets; i++) path.send(t + i * 0.1, 1200);
    t += 1000 / 30;
    while (nextFeedback <= t) {
      est.update(path.feedback(nextFeedback), nextFeedback);
      nextFeedback += 100;
    }
  }
  return t;
}

describe('DelayEstimator', () => {
  it('a path with room to spare, even with a few ms of jitter, never limits the viewer', () => {
    const est = new DelayEstimator();
    run(est, new Path(3_000_000, 3), 0, 30, () => 900_000);
    expect(est.overuses).toBe(0);
    expect(est.estimate).toBeUndefined();
  });

  it('a bottleneck below the sending rate is found from the growing delay, before any loss could say so', () => {
    const est = new DelayEstimator();
    const path = new Path(500_000, 1);
    let t = run(est, path, 0, 3, () => 300_000); // below capacity first: nothing happens
    expect(est.estimate).toBeUndefined();
    const congestedAt = t;
    let detectedAt: number | undefined;
    while (t - congestedAt < 5000 && detectedAt === undefined) {
      t = run(est, path, t, 0.1, () => 900_000);
      if (est.estimate !== undefined) detectedAt = t;
    }
    expect(detectedAt).toBeDefined();
    // The queue grows by 400 kbit/s of sending: ~0.8 s of delay per second. Detected well within a second.
    expect(detectedAt! - congestedAt).toBeLessThan(1000);
    // The estimate is DECREASE x the rate that got through, which is the bottleneck's.
    expect(est.estimate!).toBeGreaterThan(DECREASE * 500_000 * 0.8);
    expect(est.estimate!).toBeLessThanOrEqual(500_000);
  });

  it('once the sender keeps below the bottleneck, the queue drains and the estimate grows again', () => {
    const est = new DelayEstimator();
    const path = new Path(500_000, 1);
    let t = run(est, path, 0, 3, () => 900_000);
    const low = est.estimate!;
    expect(low).toBeLessThan(500_000);
    // The sender follows the estimate with a lower layer of 250 kbit/s.
    t = run(est, path, t, 20, () => 250_000);
    expect(est.usage).toBe('normal');
    expect(est.estimate!).toBeGreaterThan(low * 2);
  });

  it('a path far below the sending rate: the estimate follows what gets through, never below its floor', () => {
    const est = new DelayEstimator();
    const path = new Path(100_000);
    run(est, path, 0, 15, () => 1_000_000); // the sender ignores the estimate
    expect(est.overuses).toBeGreaterThan(1);
    expect(est.estimate!).toBeGreaterThanOrEqual(50_000);
    expect(est.estimate!).toBeLessThan(100_000);
  });
});
