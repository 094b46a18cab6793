/**
 * At most one event per `intervalMs`: the keyframe-request limiter (viewers' PLI and FIR become at most one
 * PLI upstream per 500 ms per up track). Requests inside the interval are dropped, not deferred: the
 * keyframe already asked for will serve them too.
 */
export class Throttle {
  private last = Number.NEGATIVE_INFINITY;
  private allowedCount = 0;
  private suppressedCount = 0;

  constructor(readonly intervalMs: number) {}

  /** True if the caller may act now (and the interval restarts), false if it must drop the request. */
  tryAcquire(nowMs: number): boolean {
    if (nowMs - this.last < this.intervalMs) {
      this.suppressedCount++;
      return false;
    }
    this.last = nowMs;
    this.allowedCount++;
    return true;
  }

  get allowed(): number {
    return this.allowedCount;
  }

  get suppressed(): number {
    return this.suppressedCount;
  }
}
