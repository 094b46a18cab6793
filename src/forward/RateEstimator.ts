/**
 * Byte and packet counters with a bitrate estimate. `add` is the hot path (two additions, no clock); the rate
 * is computed when asked, over the time since the previous estimate (at least `minPeriodMs`).
 */
export class RateEstimator {
  private bytes = 0;
  private packets = 0;
  private markBytes = 0;
  private markTime: number;
  private current = 0;

  constructor(
    nowMs: number,
    private readonly minPeriodMs = 1000,
  ) {
    this.markTime = nowMs;
  }

  add(bytes: number): void {
    this.bytes += bytes;
    this.packets++;
  }

  /** Bits per second. */
  rate(nowMs: number): number {
    const elapsed = nowMs - this.markTime;
    if (elapsed >= this.minPeriodMs) {
      this.current = ((this.bytes - this.markBytes) * 8 * 1000) / elapsed;
      this.markBytes = this.bytes;
      this.markTime = nowMs;
    } else if (this.current === 0 && elapsed > 0) {
      return ((this.bytes - this.markBytes) * 8 * 1000) / elapsed;
    }
    return this.current;
  }

  get totalBytes(): number {
    return this.bytes;
  }

  get totalPackets(): number {
    return this.packets;
  }
}
