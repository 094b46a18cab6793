import { add16, diff16 } from '../forward/seq.js';

export interface NackGeneratorOptions {
  /** A missing packet is NACKed once the stream is this many packets past it (Galène: ~20 ms of packets). */
  lateBy?: number;
  /** Minimum time between two NACKs of the same packet. */
  retryMs?: number;
  /** NACKs per packet before giving up. */
  maxTries?: number;
  /** Packets further behind than this are forgotten (they would have left the viewers' caches anyway). */
  maxAge?: number;
  /** A jump forward larger than this is a restart, not loss. */
  maxGap?: number;
  /**
   * More missing packets than this is a stall (or massive loss), not something NACKs should repair: the
   * generator gives up on all of them and asks for a keyframe instead.
   */
  maxPending?: number;
}

/** Returned by `onPacket` when loss is beyond repair by NACK: request a keyframe. */
export const NEED_KEYFRAME = 'keyframe';

interface Missing {
  tries: number;
  lastSentMs: number;
}

/**
 * Decides which upstream packets to NACK: gaps in the sequence numbers of one up track, NACKed once they are
 * `lateBy` packets old (so that reordering is not mistaken for loss), retried a few times, and forgotten when
 * they arrive or get too old. Pure: the caller sends the NACKs.
 */
export class NackGenerator {
  lateBy: number;
  private readonly retryMs: number;
  private readonly maxTries: number;
  private readonly maxAge: number;
  private readonly maxGap: number;
  private readonly maxPending: number;
  private readonly missing = new Map<number, Missing>();
  private highest = -1;

  constructor(opts: NackGeneratorOptions = {}) {
    this.lateBy = opts.lateBy ?? 2;
    this.retryMs = opts.retryMs ?? 100;
    this.maxTries = opts.maxTries ?? 3;
    this.maxAge = opts.maxAge ?? 400;
    this.maxGap = opts.maxGap ?? 1000;
    this.maxPending = opts.maxPending ?? 256;
  }

  /**
   * Records a received packet; returns the sequence numbers to NACK now, NEED_KEYFRAME when too much is
   * missing, or undefined.
   */
  onPacket(seq: number, nowMs: number): number[] | typeof NEED_KEYFRAME | undefined {
    if (this.highest < 0) {
      this.highest = seq;
      return undefined;
    }
    const d = diff16(seq, this.highest);
    if (d > 0) {
      if (d > this.maxGap) {
        this.missing.clear();
      } else {
        for (let k = 1; k < d; k++) this.missing.set(add16(this.highest, k), { tries: 0, lastSentMs: 0 });
      }
      this.highest = seq;
      if (this.missing.size > this.maxPending) {
        this.missing.clear();
        return NEED_KEYFRAME;
      }
    } else if (this.missing.size > 0) {
      this.missing.delete(seq);
    }
    return this.missing.size > 0 ? this.due(nowMs) : undefined;
  }

  /**
   * Packets a viewer asked for that are not in the cache: returns those that should be NACKed now (not
   * NACKed in the last `retryMs`, not too old, not given up on).
   */
  request(seqs: readonly number[], nowMs: number): number[] {
    const out: number[] = [];
    for (const seq of seqs) {
      if (this.highest < 0) break;
      const age = diff16(this.highest, seq);
      if (age < 0 || age >= this.maxAge) continue;
      let m = this.missing.get(seq);
      if (!m) {
        m = { tries: 0, lastSentMs: 0 };
        this.missing.set(seq, m);
      }
      if (m.tries >= this.maxTries || (m.tries > 0 && nowMs - m.lastSentMs < this.retryMs)) continue;
      m.tries++;
      m.lastSentMs = nowMs;
      out.push(seq);
    }
    return out;
  }

  /** Number of packets currently considered missing. */
  get pending(): number {
    return this.missing.size;
  }

  reset(): void {
    this.missing.clear();
    this.highest = -1;
  }

  private due(nowMs: number): number[] | undefined {
    let out: number[] | undefined;
    for (const [seq, m] of this.missing) {
      const age = diff16(this.highest, seq);
      if (age >= this.maxAge || age < 0) {
        this.missing.delete(seq);
        continue;
      }
      if (age < this.lateBy) continue;
      if (m.tries > 0 && nowMs - m.lastSentMs < this.retryMs) continue;
      m.tries++;
      m.lastSentMs = nowMs;
      (out ??= []).push(seq);
      if (m.tries >= this.maxTries) this.missing.delete(seq);
    }
    return out;
  }
}
