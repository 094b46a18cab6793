import { SeqUnwrapper } from '../forward/seq.js';

/**
 * Reception statistics of one up track (RFC 3550 A.3 and A.8): loss from the extended sequence numbers,
 * interarrival jitter from arrival times against RTP timestamps. `onPacket` runs once per new packet.
 */
export class ReceptionStats {
  private readonly unwrapper = new SeqUnwrapper();
  private base = -1;
  private received = 0;
  private prevExpected = 0;
  private prevReceived = 0;
  private lastLoss = 0;
  private jitterTs = 0; // in RTP timestamp units
  private lastTransit: number | undefined;

  constructor(private readonly clockRate: number) {}

  onPacket(seq: number, timestamp: number, arrivalMs: number): void {
    const ext = this.unwrapper.unwrap(seq);
    if (this.base < 0 || ext < this.base) this.base = ext;
    this.received++;
    const transit = Math.round((arrivalMs * this.clockRate) / 1000) - timestamp;
    if (this.lastTransit !== undefined) {
      // transit differences are taken mod 2^32 so that a timestamp wrap does not look like a huge jump
      let d = (transit - this.lastTransit) | 0;
      if (d < 0) d = -d;
      this.jitterTs += (d - this.jitterTs) / 16;
    }
    this.lastTransit = transit;
  }

  /** Packets expected so far (from the first to the highest sequence number). */
  get expected(): number {
    return this.base < 0 ? 0 : this.unwrapper.max - this.base + 1;
  }

  get totalLost(): number {
    return Math.max(0, this.expected - this.received);
  }

  /** Interarrival jitter in ms. */
  get jitterMs(): number {
    return (this.jitterTs * 1000) / this.clockRate;
  }

  /** Loss fraction (0..1) since the previous call, or the previous value if no packet was expected since. */
  intervalLoss(): number {
    const expected = this.expected - this.prevExpected;
    const received = this.received - this.prevReceived;
    this.prevExpected = this.expected;
    this.prevReceived = this.received;
    if (expected > 0) this.lastLoss = Math.min(1, Math.max(0, (expected - received) / expected));
    return this.lastLoss;
  }
}
