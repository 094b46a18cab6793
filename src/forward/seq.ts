/**
 * Wrap-around arithmetic for RTP sequence numbers (uint16) and timestamps (uint32).
 *
 * Every comparison of sequence numbers or timestamps in Lectern goes through here: a plain `<` is wrong at the
 * wrap (65535 -> 0), and these are the only places that know it.
 */

/** (a + b) mod 2^16; b may be negative. */
export function add16(a: number, b: number): number {
  return (a + b) & 0xffff;
}

/** Signed distance a - b in [-32768, 32767]: positive when a is newer than b. */
export function diff16(a: number, b: number): number {
  const d = (a - b) & 0xffff;
  return d >= 0x8000 ? d - 0x10000 : d;
}

/** True when a comes after b (half the sequence space ahead at most). */
export function newer16(a: number, b: number): boolean {
  return diff16(a, b) > 0;
}

/** (a + b) mod 2^32; b may be negative. */
export function add32(a: number, b: number): number {
  return (a + b) >>> 0;
}

/** Signed distance a - b in [-2^31, 2^31): positive when timestamp a is later than b. */
export function diff32(a: number, b: number): number {
  const d = (a - b) >>> 0;
  return d >= 0x80000000 ? d - 0x100000000 : d;
}

/**
 * Turns 16-bit sequence numbers into a monotonic extended counter (RFC 3550 A.1's cycles * 2^16 + seq),
 * so that loss can be counted as `highest - first + 1 - received`.
 */
export class SeqUnwrapper {
  private highest = -1; // extended

  /** Extended value of seq, placed next to the highest seen so far (late packets come out smaller). */
  unwrap(seq: number): number {
    if (this.highest < 0) {
      this.highest = seq;
      return seq;
    }
    const ext = this.highest + diff16(seq, this.highest & 0xffff);
    if (ext > this.highest) this.highest = ext;
    return ext;
  }

  /** The highest extended sequence number seen, or -1 before the first packet. */
  get max(): number {
    return this.highest;
  }

  reset(): void {
    this.highest = -1;
  }
}
