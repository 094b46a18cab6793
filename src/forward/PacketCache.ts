import { diff16 } from './seq.js';

/**
 * A fixed ring of the last `size` packets of one up track, indexed by RTP sequence number.
 *
 * Viewer NACKs and late joiners are served from here. A slot remembers the sequence number it holds, so a
 * lookup never returns a packet 65536 (or `size`) numbers away. Packets older than the window are refused
 * rather than allowed to evict newer ones. The packets stored are never mutated by the forwarding core.
 */
export class PacketCache<P> {
  private readonly slots: (P | undefined)[];
  private readonly seqs: Int32Array;
  private readonly mask: number;
  private newest = -1;

  constructor(readonly size = 512) {
    if (size <= 0 || size > 32768 || (size & (size - 1)) !== 0) {
      throw new RangeError(`PacketCache size must be a power of two in [1, 32768], got ${size}`);
    }
    this.mask = size - 1;
    this.slots = new Array<P | undefined>(size).fill(undefined);
    this.seqs = new Int32Array(size).fill(-1);
  }

  /**
   * Stores a packet. Returns false (and stores nothing) for a duplicate or for a packet that is older than
   * the window.
   */
  put(seq: number, packet: P): boolean {
    if (this.newest >= 0) {
      const d = diff16(seq, this.newest);
      if (d <= -this.size) return false;
      if (d > 0) this.newest = seq;
    } else {
      this.newest = seq;
    }
    const i = seq & this.mask;
    if (this.seqs[i] === seq && this.slots[i] !== undefined) return false;
    this.seqs[i] = seq;
    this.slots[i] = packet;
    return true;
  }

  /** The packet with this sequence number, if it is still in the window. */
  get(seq: number): P | undefined {
    if (this.newest < 0) return undefined;
    const d = diff16(this.newest, seq);
    if (d < 0 || d >= this.size) return undefined;
    const i = seq & this.mask;
    return this.seqs[i] === seq ? this.slots[i] : undefined;
  }

  /** The newest sequence number stored, or -1 when empty. */
  get newestSeq(): number {
    return this.newest;
  }

  clear(): void {
    this.slots.fill(undefined);
    this.seqs.fill(-1);
    this.newest = -1;
  }
}
