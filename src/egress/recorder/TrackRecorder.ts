import { dePacketizeRtpPackets, type RtpPacket } from 'werift';
import { add16, diff16 } from '../../forward/seq.js';
import type { DownTrack, UpTrack } from '../../forward/types.js';

/** One depacketized frame, still on the publisher's RTP clock. */
export interface Frame {
  data: Buffer;
  keyframe: boolean;
  /** RTP timestamp. */
  timestamp: number;
  /** When its first packet arrived (local ms). */
  arrivalMs: number;
  /** The RTP source it came from: timestamps of different sources are unrelated. */
  ssrc: number;
}

/** How long a missing packet is waited for (a NACK round trip) before the frame it belongs to is given up. */
const GAP_WAIT_MS = 250;
/** Give up a gap sooner when this many packets wait behind it. */
const MAX_HELD = 512;
/** A packet this far behind the next expected one is not late but from a restarted sequence. */
const MAX_LATE = 2048;

const DEPACKETIZER = { vp8: 'vp8', vp9: 'vp9', opus: 'opus', h264: 'MPEG4/ISO/AVC' } as const;

/**
 * The recorder's DownTrack for one up track: puts packets back in order, fills holes from the up track's
 * packet cache (where NACKed retransmissions land), and turns packets into frames. A video frame with a
 * packet that never came is dropped, and so is every frame until the next keyframe, which it asks for.
 */
export class TrackRecorder implements DownTrack {
  readonly id: string;
  private readonly held = new Map<number, { packet: RtpPacket; keyframe: boolean; arrivalMs: number }>();
  private expected: number | undefined;
  private parts: RtpPacket[] = [];
  private partsKeyframe = false;
  private partsArrivalMs = 0;
  private gapSinceMs: number | undefined;
  private ssrc: number | undefined;
  private needKeyframe: boolean;
  private readonly video: boolean;
  droppedFrames = 0;

  constructor(
    readonly up: UpTrack,
    private readonly onFrame: (f: Frame) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.id = `recorder-${up.id}`;
    this.video = up.kind === 'video';
    this.needKeyframe = this.video;
  }

  maxBitrate(): number | undefined {
    return undefined;
  }

  write(packet: RtpPacket, keyframe: boolean): void {
    const seq = packet.header.sequenceNumber;
    if (packet.header.ssrc !== this.ssrc) {
      // A new source (the publisher restarted its encoder): its numbering starts afresh.
      if (this.ssrc !== undefined) this.restart();
      this.ssrc = packet.header.ssrc;
    }
    if (this.expected === undefined) {
      if (this.needKeyframe && !keyframe) return;
      this.expected = seq;
    }
    const behind = -diff16(seq, this.expected);
    if (behind > MAX_LATE) {
      // Far behind anything a retransmission could be: the numbering restarted.
      this.restart();
      if (this.needKeyframe && !keyframe) return;
      this.expected = seq;
    } else if (behind > 0 || this.held.has(seq)) {
      return;
    }
    this.held.set(seq, { packet, keyframe, arrivalMs: this.now() });
    this.drain();
  }

  private restart(): void {
    this.flush();
    this.expected = undefined;
    this.parts = [];
    this.needKeyframe = this.video;
  }

  /** Emits every complete frame still held (the stream is ending). */
  flush(): void {
    while (this.held.size > 0) {
      this.skipGap();
      this.drain();
    }
  }

  private drain(): void {
    for (;;) {
      const seq = this.expected!;
      let entry = this.held.get(seq);
      if (!entry) {
        const cached = this.up.getPacket(seq);
        if (cached) entry = { packet: cached, keyframe: false, arrivalMs: this.now() };
      }
      if (entry) {
        this.held.delete(seq);
        this.gapSinceMs = undefined;
        this.expected = add16(seq, 1);
        this.take(entry.packet, entry.keyframe, entry.arrivalMs);
        continue;
      }
      if (this.held.size === 0) return;
      this.gapSinceMs ??= this.now();
      if (this.now() - this.gapSinceMs < GAP_WAIT_MS && this.held.size < MAX_HELD) return;
      this.skipGap();
    }
  }

  /** Gives up the missing packets before the oldest held one, and the frame they belonged to. */
  private skipGap(): void {
    let oldest: number | undefined;
    for (const seq of this.held.keys()) if (oldest === undefined || diff16(seq, oldest) < 0) oldest = seq;
    if (oldest === undefined) return;
    this.expected = oldest;
    this.gapSinceMs = undefined;
    if (this.video) {
      if (this.parts.length > 0) this.droppedFrames++;
      this.parts = [];
      if (!this.needKeyframe) {
        this.needKeyframe = true;
        this.up.requestKeyframe();
      }
    }
  }

  private take(packet: RtpPacket, keyframe: boolean, arrivalMs: number): void {
    if (!this.video) {
      this.emit([packet], false, arrivalMs);
      return;
    }
    if (this.parts.length > 0 && packet.header.timestamp !== this.parts[0]!.header.timestamp) {
      // The previous frame's last packet (the one with the marker) was never seen as such: end it here.
      this.emit(this.parts, this.partsKeyframe, this.partsArrivalMs);
      this.parts = [];
    }
    if (this.parts.length === 0) {
      this.partsKeyframe = keyframe;
      this.partsArrivalMs = arrivalMs;
    }
    this.parts.push(packet);
    if (packet.header.marker) {
      this.emit(this.parts, this.partsKeyframe, this.partsArrivalMs);
      this.parts = [];
    }
  }

  private emit(packets: RtpPacket[], keyframeHint: boolean, arrivalMs: number): void {
    const codec = DEPACKETIZER[this.up.codec.name as keyof typeof DEPACKETIZER];
    if (!codec) return;
    let frame: { data: Buffer; isKeyframe: boolean };
    try {
      frame = dePacketizeRtpPackets(codec, packets);
    } catch {
      this.droppedFrames++;
      return;
    }
    const keyframe = keyframeHint || frame.isKeyframe;
    if (this.needKeyframe) {
      if (!keyframe) {
        this.droppedFrames++;
        return;
      }
      this.needKeyframe = false;
    }
    if (frame.data.length === 0) return;
    const first = packets[0]!.header;
    this.onFrame({ data: frame.data, keyframe, timestamp: first.timestamp, arrivalMs, ssrc: first.ssrc });
  }
}
