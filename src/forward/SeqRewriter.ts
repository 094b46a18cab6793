import { add16, add32, diff16 } from './seq.js';

/**
 * The numbering a viewer sees for one DownTrack. Upstream packets are identified by (ssrc, seq, timestamp);
 * downstream the DownTrack has its own SSRC and a sequence/timestamp space that must stay continuous when
 * the source changes (a simulcast layer switch, a publisher restarting its encoder) and when a late joiner is
 * first sent a cached keyframe.
 *
 * While nothing has been sent the numbering is the identity (offset 0), so a viewer sees the publisher's own
 * sequence numbers and timestamps. The reverse mapping (`upSeq`) answers NACKs.
 */
/** Skips remembered for NACK mapping (older ones: their packets are answered no more). */
const MAX_SEGMENTS = 256;

export class SeqRewriter {
  /** Output of `map`: the downstream sequence number and timestamp. */
  seq = 0;
  ts = 0;
  private started = false;
  private ssrc = -1;
  private seqOffset = 0;
  private tsOffset = 0;
  private maxDown = 0;
  private lastDownTs = 0;
  /** First downstream seq of the current source: NACKs for earlier ones cannot be answered from it. */
  private epochDown = 0;
  /** Live packets of the current source older than this upstream seq precede the join: dropped. */
  private floorUp = -1;
  /** A renumbered replay: downstream seqs replayDown.. carry the upstream seqs replayUp[i]. */
  private replayDown = 0;
  private replayUp: number[] = [];
  /** The source before the last change, so that NACKs for its last packets can still be answered. */
  private hasPrev = false;
  private prevSeqOffset = 0;
  private prevTsOffset = 0;
  private prevFrom = 0;
  private prevTo = 0;
  /**
   * Packets left out on purpose (`skip`, temporal-layer dropping) shift later numbers down by one each: the
   * offset in force from each downstream seq on, newest last, for mapping NACKs back. Empty until a skip.
   */
  private segments: { downFrom: number; offset: number }[] = [];
  private newestUp = -1;

  /** @param switchGap timestamp units inserted between two sources (about one frame) */
  constructor(private readonly switchGap: number) {}

  get hasStarted(): boolean {
    return this.started;
  }

  /** The upstream SSRC currently being forwarded, or -1. */
  get source(): number {
    return this.ssrc;
  }

  /**
   * Starts forwarding a source from upstream packet (firstSeq, firstTs); later packets are mapped by offset.
   * Used before sending a replay that reaches the live edge, and implicitly by `map` on an SSRC change.
   */
  startContiguous(ssrc: number, firstSeq: number, firstTs: number): void {
    this.keepPrevious();
    if (this.started) {
      this.seqOffset = add16(add16(this.maxDown, 1), -firstSeq);
      this.tsOffset = add32(add32(this.lastDownTs, this.switchGap), -firstTs);
    } else {
      this.seqOffset = 0;
      this.tsOffset = 0;
    }
    this.ssrc = ssrc;
    this.epochDown = add16(firstSeq, this.seqOffset);
    this.floorUp = firstSeq;
    this.replayUp = [];
    this.segments = [];
    this.newestUp = -1;
  }

  /**
   * Starts forwarding a source with a block of replayed packets (`upSeqs`, a cached keyframe) that is not
   * contiguous with the live stream: the block is numbered so that it ends right before the next live packet,
   * `nextLiveSeq`, and the viewer sees no gap. Returns the downstream seq of the first replayed packet (the
   * i-th gets first + i). Live packets older than nextLiveSeq are dropped from then on.
   */
  startRenumbered(ssrc: number, upSeqs: readonly number[], firstTs: number, lastTs: number, nextLiveSeq: number): number {
    const n = upSeqs.length;
    this.keepPrevious();
    let base: number;
    if (this.started) {
      base = add16(this.maxDown, 1);
      this.tsOffset = add32(add32(this.lastDownTs, this.switchGap), -firstTs);
    } else {
      base = add16(nextLiveSeq, -n);
      this.tsOffset = 0;
    }
    this.seqOffset = add16(add16(base, n), -nextLiveSeq);
    this.ssrc = ssrc;
    this.epochDown = base;
    this.floorUp = nextLiveSeq;
    this.replayDown = base;
    this.replayUp = upSeqs.slice();
    this.segments = [];
    this.newestUp = -1;
    if (n > 0) {
      this.maxDown = add16(base, n - 1);
      this.lastDownTs = add32(lastTs, this.tsOffset);
      this.started = true;
    }
    return base;
  }

  /** Maps a live packet into `seq`/`ts`; false means drop it. */
  map(ssrc: number, seq: number, ts: number): boolean {
    if (ssrc !== this.ssrc) this.startContiguous(ssrc, seq, ts);
    if (this.floorUp >= 0) {
      const d = diff16(seq, this.floorUp);
      if (d < 0) return false;
      if (d > 4096) this.floorUp = -1;
    }
    if (this.newestUp < 0 || diff16(seq, this.newestUp) > 0) this.newestUp = seq;
    this.seq = add16(seq, this.segments.length > 0 ? this.offsetOfUp(seq) : this.seqOffset);
    this.ts = add32(ts, this.tsOffset);
    if (!this.started || diff16(this.seq, this.maxDown) > 0) {
      this.maxDown = this.seq;
      this.lastDownTs = this.ts;
      if (this.replayUp.length > 0 && diff16(this.seq, this.replayDown) > 8192) this.replayUp = [];
    }
    this.started = true;
    return true;
  }

  /**
   * Leaves out a live packet of the current source, numbering the following ones so the viewer sees no gap.
   * Only the newest packet can be left out; a late one is ignored (its number stays a gap).
   */
  skip(ssrc: number, seq: number, ts: number): void {
    if (ssrc !== this.ssrc) this.startContiguous(ssrc, seq, ts);
    if (this.newestUp >= 0 && diff16(seq, this.newestUp) <= 0) return;
    this.newestUp = seq;
    if (this.segments.length === 0) this.segments.push({ downFrom: this.epochDown, offset: this.seqOffset });
    this.seqOffset = add16(this.seqOffset, -1);
    this.segments.push({ downFrom: add16(add16(seq, 1), this.seqOffset), offset: this.seqOffset });
    if (this.segments.length > MAX_SEGMENTS) this.segments.shift();
  }

  /** The offset for an upstream seq of the current source (a late packet keeps the offset of its time). */
  private offsetOfUp(up: number): number {
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (diff16(add16(up, s.offset), s.downFrom) >= 0) return s.offset;
    }
    return this.segments[0]!.offset;
  }

  private keepPrevious(): void {
    this.hasPrev = this.started;
    if (!this.started) return;
    this.prevSeqOffset = this.seqOffset;
    this.prevTsOffset = this.tsOffset;
    this.prevFrom = this.epochDown;
    this.prevTo = this.maxDown;
  }

  /** The upstream seq of the previous source behind a downstream seq it was sent as, or -1. */
  prevUpSeq(downSeq: number): number {
    if (!this.hasPrev || diff16(downSeq, this.prevFrom) < 0 || diff16(downSeq, this.prevTo) > 0) return -1;
    return add16(downSeq, -this.prevSeqOffset);
  }

  /** Downstream timestamp of an upstream timestamp of the previous source. */
  prevMapTs(ts: number): number {
    return add32(ts, this.prevTsOffset);
  }

  /** Downstream timestamp of an upstream timestamp of the current source. */
  mapTs(ts: number): number {
    return add32(ts, this.tsOffset);
  }

  /** The upstream seq behind a downstream seq (for NACKs), or -1 if it cannot be answered. */
  upSeq(downSeq: number): number {
    if (!this.started) return -1;
    if (this.replayUp.length > 0) {
      const i = diff16(downSeq, this.replayDown);
      if (i >= 0 && i < this.replayUp.length) return this.replayUp[i]!;
    }
    if (diff16(downSeq, this.epochDown) < 0 || diff16(downSeq, this.maxDown) > 0) return -1;
    for (let i = this.segments.length - 1; i >= 0; i--) {
      const s = this.segments[i]!;
      if (diff16(downSeq, s.downFrom) >= 0) return add16(downSeq, -s.offset);
    }
    return this.segments.length > 0 ? -1 : add16(downSeq, -this.seqOffset);
  }
}
