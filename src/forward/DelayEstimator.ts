/**
 * A delay-based estimate of what one viewer's path carries, from TWCC feedback (send time, arrival time and
 * size of each packet). Pure: the caller passes the samples and the clock.
 *
 * The idea is the one of Google congestion control (draft-ietf-rmcat-gcc-02), written small:
 * - packets sent within GROUP_MS of each other form a group (a frame's burst); between consecutive groups
 *   the delay variation is (arrival gap) − (send gap): positive while a queue builds on the path;
 * - the accumulated variation, smoothed, is fitted by a least-squares line over the last WINDOW groups; the
 *   slope, scaled by the number of groups and GAIN, is the trend, compared with a threshold that adapts
 *   slowly to the trend's usual size (so that steady jitter does not count);
 * - trend above the threshold for OVERUSE_MS: overuse, the estimate drops to DECREASE × the rate the viewer
 *   received over the last half second (again every DECREASE_INTERVAL_MS while it lasts); below −threshold:
 *   the queue drains, hold; otherwise the estimate grows by GROWTH_PER_S.
 *
 * Left out from GCC, on purpose: the estimate starts unlimited (undefined) and only exists after a first
 * overuse, as the loss-based one (RateController); it grows multiplicatively without the cap at 1.5× the
 * received rate, because on a lower simulcast layer the viewer receives less than the better layer needs
 * and nothing but the estimate's own growth would ever allow a switch up (if that switch overloads the path
 * again the LayerSelector's hold doubles); no additive increase near convergence and no probing.
 */

/** Packets sent this close together are one group. */
export const GROUP_MS = 5;
const WINDOW = 20;
const SMOOTHING = 0.9;
const GAIN = 4;
const MAX_DELTAS = 60;
const INITIAL_THRESHOLD = 12.5;
const MIN_THRESHOLD = 6;
const MAX_THRESHOLD = 600;
const K_UP = 0.0087;
const K_DOWN = 0.039;
/** The trend must stay above the threshold this long (and rise) before it counts as overuse. */
export const OVERUSE_MS = 10;
export const DECREASE = 0.85;
/** While the overuse lasts, the estimate decreases again at most this often (a round trip and some). */
export const DECREASE_INTERVAL_MS = 300;
export const GROWTH_PER_S = 1.08;
const RECEIVED_WINDOW_MS = 500;
const MAX_RATE = 1e9;
export const MIN_RATE = 50_000;

export type Usage = 'normal' | 'overuse' | 'underuse';

/** One packet a feedback message accounts for: send time and size, and its arrival (receiver clock). */
export interface DelaySample {
  sendMs: number;
  bytes: number;
  /** undefined: reported lost (left out here; the receiver reports count losses). */
  arrivalMs: number | undefined;
}

interface Group {
  firstSend: number;
  lastSend: number;
  lastArrival: number;
}

export class DelayEstimator {
  private group: Group | undefined;
  private prev: Group | undefined;
  private accumulated = 0;
  private smoothed = 0;
  private firstArrival: number | undefined;
  private readonly points: { x: number; y: number }[] = [];
  private deltas = 0;
  private threshold = INITIAL_THRESHOLD;
  private lastTrend = 0;
  private lastThresholdAt: number | undefined;
  private overuseSince: number | undefined;
  private usageNow: Usage = 'normal';
  private rate: number | undefined;
  private lastUpdate: number | undefined;
  private lastDecreaseAt = -Infinity;
  private readonly received: { at: number; bytes: number }[] = [];
  /** Times an overuse set the estimate (for tests and stats). */
  overuses = 0;

  get usage(): Usage {
    return this.usageNow;
  }

  /** The estimate, bit/s (undefined: the delay never said the path is full). */
  get estimate(): number | undefined {
    return this.rate;
  }

  /** The rate the viewer received over the last RECEIVED_WINDOW_MS of arrivals, bit/s (0 until half of it is covered). */
  receivedRate(): number {
    const r = this.received;
    if (r.length < 2) return 0;
    const span = r[r.length - 1]!.at - r[0]!.at;
    if (span < RECEIVED_WINDOW_MS / 2) return 0;
    let bytes = 0;
    for (let i = 1; i < r.length; i++) bytes += r[i]!.bytes;
    return (bytes * 8 * 1000) / span;
  }

  /** One feedback message's packets, in sequence order, at `nowMs` (the caller's clock). */
  update(samples: readonly DelaySample[], nowMs: number): void {
    for (const s of samples) this.addSample(s);
    this.adjustRate(nowMs);
  }

  private addSample({ sendMs, bytes, arrivalMs }: DelaySample): void {
    if (arrivalMs === undefined) return;
    const r = this.received;
    r.push({ at: arrivalMs, bytes });
    while (r.length > 2 && arrivalMs - r[0]!.at > RECEIVED_WINDOW_MS) r.shift();
    const g = this.group;
    if (!g) {
      this.group = { firstSend: sendMs, lastSend: sendMs, lastArrival: arrivalMs };
      return;
    }
    if (sendMs < g.firstSend) return; // reordered from an earlier group: its delay is already counted
    if (sendMs - g.firstSend <= GROUP_MS) {
      g.lastSend = Math.max(g.lastSend, sendMs);
      g.lastArrival = Math.max(g.lastArrival, arrivalMs);
      return;
    }
    if (this.prev) this.addDelta(g.lastArrival - this.prev.lastArrival - (g.lastSend - this.prev.lastSend), g.lastArrival);
    this.prev = g;
    this.group = { firstSend: sendMs, lastSend: sendMs, lastArrival: arrivalMs };
  }

  private addDelta(delta: number, arrivalMs: number): void {
    this.deltas = Math.min(this.deltas + 1, MAX_DELTAS);
    this.firstArrival ??= arrivalMs;
    this.accumulated += delta;
    this.smoothed = SMOOTHING * this.smoothed + (1 - SMOOTHING) * this.accumulated;
    this.points.push({ x: arrivalMs - this.firstArrival, y: this.smoothed });
    if (this.points.length > WINDOW) this.points.shift();
    if (this.points.length < WINDOW) return;
    const trend = slope(this.points) * this.deltas * GAIN;
    this.detect(trend, arrivalMs);
  }

  private detect(trend: number, atMs: number): void {
    if (trend > this.threshold) {
      this.overuseSince ??= atMs;
      if (atMs - this.overuseSince >= OVERUSE_MS && trend >= this.lastTrend) this.usageNow = 'overuse';
    } else {
      this.overuseSince = undefined;
      this.usageNow = trend < -this.threshold ? 'underuse' : 'normal';
    }
    this.lastTrend = trend;
    this.adaptThreshold(trend, atMs);
  }

  /** The threshold follows |trend| slowly up and faster down; a spike far above it is not followed. */
  private adaptThreshold(trend: number, atMs: number): void {
    const last = this.lastThresholdAt ?? atMs;
    this.lastThresholdAt = atMs;
    const magnitude = Math.abs(trend);
    if (magnitude > this.threshold + 15) return;
    const k = magnitude < this.threshold ? K_DOWN : K_UP;
    const dt = Math.min(atMs - last, 100);
    this.threshold = Math.min(MAX_THRESHOLD, Math.max(MIN_THRESHOLD, this.threshold + k * (magnitude - this.threshold) * dt));
  }

  private adjustRate(nowMs: number): void {
    const dt = this.lastUpdate === undefined ? 0 : Math.max(0, nowMs - this.lastUpdate);
    this.lastUpdate = nowMs;
    if (this.usageNow === 'overuse') {
      const received = this.receivedRate();
      if (received > 0 && nowMs - this.lastDecreaseAt >= DECREASE_INTERVAL_MS) {
        this.rate = Math.max(MIN_RATE, Math.min(this.rate ?? Infinity, DECREASE * received));
        this.lastDecreaseAt = nowMs;
        this.overuses++;
      }
      return;
    }
    if (this.usageNow === 'underuse' || this.rate === undefined) return;
    const grown = this.rate * GROWTH_PER_S ** (Math.min(dt, 1000) / 1000);
    this.rate = grown >= MAX_RATE ? undefined : grown;
  }
}

/** Least-squares slope of y over x. */
function slope(points: readonly { x: number; y: number }[]): number {
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / points.length;
  const my = sy / points.length;
  let num = 0;
  let den = 0;
  for (const p of points) {
    num += (p.x - mx) * (p.y - my);
    den += (p.x - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}
