/**
 * Which simulcast layer one viewer gets. Layers are given best first (the publisher's offer order: Galène's
 * client offers `h` then `l`) with their measured bitrates. The viewer gets the best layer that fits its
 * limit (RateController); `video-low` pins the last layer. Hysteresis:
 *
 * - down at once when the current layer no longer fits (the viewer is losing packets now), but not within
 *   DOWN_HOLD_MS of the previous switch (the new layer's rate and the viewer's reports need a moment);
 * - up only when the better layer fits with a 15% margin, and UP_HOLD_MS after the previous switch; an up
 *   switch undone within FAIL_WINDOW_MS doubles that hold (up to a minute), one that lasts resets it.
 *
 * A layer measured at 0 bit/s is not being sent (Chrome drops its high layers when its uplink is short): it
 * is never chosen, and a viewer on it moves at once.
 */

export const DOWN_HOLD_MS = 1000;
export const UP_HOLD_MS = 3000;
export const FAIL_WINDOW_MS = 10_000;
const MAX_UP_HOLD_MS = 60_000;
const UP_MARGIN = 1.15;

export class LayerSelector {
  private current = 0;
  private lastSwitchAt = -Infinity;
  private lastUpAt = -Infinity;
  private upHold = UP_HOLD_MS;

  /** The layer index the viewer is on (as set by `choose` or `reset`). */
  get layer(): number {
    return this.current;
  }

  /** The viewer is on `layer` (e.g. attached to it at start) without this selector having chosen it. */
  reset(layer: number, nowMs: number): void {
    this.current = layer;
    this.lastSwitchAt = nowMs;
  }

  /**
   * @param bitrates measured bit/s of each layer, best first
   * @param limit what the viewer can take (undefined: no limit known)
   * @param pinLow the viewer asked for `video-low`
   * @returns the layer the viewer should be on now
   */
  choose(bitrates: readonly number[], limit: number | undefined, pinLow: boolean, nowMs: number): number {
    const n = bitrates.length;
    if (n <= 1) return this.set(0, nowMs);
    if (pinLow) return this.set(n - 1, nowMs);
    let cur = Math.min(this.current, n - 1);
    if (this.current !== cur) cur = this.set(cur, nowMs);
    if (this.lastUpAt > -Infinity && nowMs - this.lastUpAt > FAIL_WINDOW_MS) {
      this.upHold = UP_HOLD_MS;
      this.lastUpAt = -Infinity;
    }
    // The best layer being sent that fits (or the lowest one being sent).
    let fit = -1;
    let lowestSent = -1;
    for (let i = 0; i < n; i++) {
      const b = bitrates[i]!;
      if (b <= 0) continue;
      lowestSent = i;
      if (fit < 0 && (limit === undefined || b <= limit)) fit = i;
    }
    if (lowestSent < 0) return cur; // nothing measured yet
    if (fit < 0) fit = lowestSent;
    if (bitrates[cur]! <= 0) return this.set(fit, nowMs); // the current layer stopped: move now
    const since = nowMs - this.lastSwitchAt;
    if (fit > cur) {
      if (since < DOWN_HOLD_MS) return cur;
      if (nowMs - this.lastUpAt <= FAIL_WINDOW_MS) this.upHold = Math.min(MAX_UP_HOLD_MS, this.upHold * 2);
      this.lastUpAt = -Infinity;
      return this.set(fit, nowMs);
    }
    if (fit < cur) {
      // Up: the first better layer that fits with a margin.
      let up = -1;
      for (let i = fit; i < cur; i++) {
        const b = bitrates[i]!;
        if (b > 0 && (limit === undefined || b * UP_MARGIN <= limit)) {
          up = i;
          break;
        }
      }
      if (up < 0 || since < this.upHold) return cur;
      this.lastUpAt = nowMs;
      return this.set(up, nowMs);
    }
    return cur;
  }

  private set(layer: number, nowMs: number): number {
    if (layer !== this.current) {
      this.current = layer;
      this.lastSwitchAt = nowMs;
    }
    return layer;
  }
}
