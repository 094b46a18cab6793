/**
 * What one viewer can take, from its feedback (Galène's rule, per down track): the viewer's REMB if it sends
 * one, and a loss-based estimate from its receiver reports — loss above 10% multiplies the estimate by
 * (1 - loss/2), loss below 2% lets it grow by 10% a report (up to 1 Gbit/s, where it stops limiting); in
 * between it holds. Pure: the caller passes the clock and the rate actually sent.
 *
 * Differences from Galène, on purpose: the estimate starts unlimited (Galène starts at 512 kbit/s) and the
 * first decrease starts from the rate actually sent (loss at that rate says the path carries less); it grows
 * back faster (10% rather than 5% a report) and also while the viewer is sent less than the estimate (Galène
 * grows it only when the rate sent is at least 3/4 of it): on a lower simulcast layer nothing else would
 * ever show that the link recovered, so the estimate itself is the probe — once it reaches the better
 * layer's rate the viewer is switched up, and if that brings loss back the LayerSelector's hold doubles.
 * With TWCC negotiated, the delay-based estimate of the viewer's transport (DelayEstimator, less what its
 * other tracks take) is a third limit.
 */

export const LOSS_HIGH = 0.1;
export const LOSS_LOW = 0.02;
export const MIN_LOSS_RATE = 50_000;
/** A REMB older than this no longer counts. */
export const REMB_TTL_MS = 5000;
const GROWTH = 1.1;
const MAX_RATE = 1e9;

export class RateController {
  private remb: number | undefined;
  private rembAt = 0;
  private lossRate: number | undefined;
  private delayRate: number | undefined;

  /** The viewer's REMB, bit/s. */
  onRemb(bitrate: number, nowMs: number): void {
    if (!(bitrate > 0)) return;
    this.remb = bitrate;
    this.rembAt = nowMs;
  }

  /** A receiver report: `fraction` lost (0..1) since the last one, while we were sending `sentRate` bit/s. */
  onLoss(fraction: number, sentRate: number): void {
    if (fraction > LOSS_HIGH) {
      let base = this.lossRate ?? (sentRate > 0 ? sentRate : this.remb ?? MAX_RATE);
      if (sentRate > 0 && sentRate < base) base = sentRate;
      this.lossRate = Math.max(MIN_LOSS_RATE, base * (1 - fraction / 2));
    } else if (fraction < LOSS_LOW && this.lossRate !== undefined) {
      const grown = this.lossRate * GROWTH;
      this.lossRate = grown >= MAX_RATE ? undefined : grown;
    }
  }

  /** The delay-based estimate from TWCC feedback, bit/s (undefined: delay does not limit). */
  onDelayEstimate(bitrate: number | undefined): void {
    this.delayRate = bitrate;
  }

  /** The loss-based estimate alone (undefined: loss does not limit). */
  get lossEstimate(): number | undefined {
    return this.lossRate;
  }

  /** The last REMB, if recent. */
  recentRemb(nowMs: number): number | undefined {
    return this.remb !== undefined && nowMs - this.rembAt <= REMB_TTL_MS ? this.remb : undefined;
  }

  /** What the viewer can take now: the smallest of a recent REMB, the loss and the delay estimates; undefined if none. */
  limit(nowMs: number): number | undefined {
    let out: number | undefined;
    for (const x of [this.recentRemb(nowMs), this.lossRate, this.delayRate]) {
      if (x !== undefined && (out === undefined || x < out)) out = x;
    }
    return out;
  }
}
