import type { RtpPacket } from 'werift';
import { isKeyframe } from '../forward/keyframe.js';
import { vp8TemporalLayer } from '../forward/Vp8Rewriter.js';
import { PacketCache } from '../forward/PacketCache.js';
import { RateEstimator } from '../forward/RateEstimator.js';
import { add16, add32, diff16 } from '../forward/seq.js';
import { Throttle } from '../forward/Throttle.js';
import type { DownTrack, Replay, RtpCodec, SenderClock, TrackKind, TrackStats, UpTrack } from '../forward/types.js';
import { NackGenerator, NEED_KEYFRAME } from './NackGenerator.js';
import { ReceptionStats } from './ReceptionStats.js';

/** How an up track talks back to its publisher (implemented by the up connection over RTCP). */
export interface UpstreamFeedback {
  sendNack(mediaSsrc: number, seqs: number[]): void;
  sendPli(mediaSsrc: number): void;
}

export interface RtpUpTrackOptions {
  id: string;
  kind: TrackKind;
  label: string;
  rid: string | undefined;
  codec: RtpCodec;
  feedback: UpstreamFeedback;
  cacheSize?: number;
  /** Called once, when the first packet arrives (the connection's 'track' event). */
  onFirstPacket?: (track: RtpUpTrack) => void;
  /** Wall clock in ms (Date.now); injectable for tests. */
  now?: () => number;
}

/** Galène replays the cached keyframe with what followed it if it is no more than this many packets old. */
export const REPLAY_COMPLETE_MAX_PACKETS = 40;
/** The last keyframe is kept apart from the cache (up to this many packets) so it can be replayed at any age. */
const KEYFRAME_MAX_PACKETS = 2048;
/** At most one PLI upstream per this interval per track. */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500;

export interface UpTrackCounters {
  packets: number;
  bytes: number;
  duplicates: number;
  padding: number;
  keyframes: number;
  nacksSent: number;
  nackedPackets: number;
  plisSent: number;
  plisSuppressed: number;
  writeErrors: number;
}

const EMPTY_REPLAY: Replay = Object.freeze({ packets: [], complete: false, nextSeq: 0 });

/**
 * One received stream (or simulcast layer). Per packet, once: drop duplicates and padding, cache it, update
 * reception statistics, detect keyframes, schedule upstream NACKs, then hand it to every attached DownTrack.
 */
export class RtpUpTrack implements UpTrack {
  readonly id: string;
  readonly kind: TrackKind;
  readonly label: string;
  readonly rid: string | undefined;
  readonly codec: RtpCodec;
  private readonly feedback: UpstreamFeedback;
  private onFirstPacket: ((track: RtpUpTrack) => void) | undefined;
  private readonly now: () => number;
  private readonly cache: PacketCache<RtpPacket>;
  private readonly nacks: NackGenerator | undefined;
  private readonly pli = new Throttle(KEYFRAME_REQUEST_INTERVAL_MS);
  private readonly reception: ReceptionStats;
  private readonly rate: RateEstimator;
  /** Bytes per VP8 temporal layer (TID), once packets carry one. */
  private readonly tidRates: (RateEstimator | undefined)[] = [];
  /** Copy-on-write, so that a DownTrack may detach itself while a packet is being fanned out. */
  private downs: readonly DownTrack[] = [];
  private ssrcValue: number | undefined;
  private kfSeq = -1;
  private kfTs = 0;
  /** Every packet of the last keyframe, in arrival order. */
  private kfPackets: RtpPacket[] = [];
  private lastTs = 0;
  private lastArrivalMs: number | undefined;
  private srRtp = 0;
  private srArrivalMs: number | undefined;
  private srNtpMs = 0;
  private lastTickPackets = 0;
  private lastTickMs: number;
  private closed = false;
  readonly counters: UpTrackCounters = {
    packets: 0,
    bytes: 0,
    duplicates: 0,
    padding: 0,
    keyframes: 0,
    nacksSent: 0,
    nackedPackets: 0,
    plisSent: 0,
    plisSuppressed: 0,
    writeErrors: 0,
  };

  constructor(opts: RtpUpTrackOptions) {
    this.id = opts.id;
    this.kind = opts.kind;
    this.label = opts.label;
    this.rid = opts.rid;
    this.codec = opts.codec;
    this.feedback = opts.feedback;
    this.onFirstPacket = opts.onFirstPacket;
    this.now = opts.now ?? Date.now;
    this.cache = new PacketCache<RtpPacket>(opts.cacheSize ?? 512);
    this.nacks = opts.kind === 'video' ? new NackGenerator() : undefined;
    this.reception = new ReceptionStats(opts.codec.clockRate);
    this.lastTickMs = this.now();
    this.rate = new RateEstimator(this.lastTickMs);
  }

  /** The publisher's SSRC for this track, once a packet has arrived. */
  get ssrc(): number | undefined {
    return this.ssrcValue;
  }

  get downCount(): number {
    return this.downs.length;
  }

  /** Hot path: one received RTP packet (werift hands each receiver a fresh object, which we keep). */
  push(packet: RtpPacket): void {
    if (this.closed) return;
    const h = packet.header;
    if (packet.payload.length === 0) {
      this.counters.padding++; // padding-only (bandwidth probing): nothing to forward
      return;
    }
    if (h.ssrc !== this.ssrcValue) {
      this.newSource(h.ssrc);
      const first = this.onFirstPacket;
      if (first) {
        this.onFirstPacket = undefined;
        first(this);
      }
    }
    const seq = h.sequenceNumber;
    if (!this.cache.put(seq, packet)) {
      this.counters.duplicates++;
      return;
    }
    const now = this.now();
    this.counters.packets++;
    this.counters.bytes += packet.payload.length;
    this.rate.add(packet.payload.length + 12);
    if (this.codec.name === 'vp8') {
      const tid = vp8TemporalLayer(packet.payload);
      if (tid >= 0) (this.tidRates[tid] ??= new RateEstimator(now)).add(packet.payload.length + 12);
    }
    this.reception.onPacket(seq, h.timestamp, now);
    if (this.lastArrivalMs === undefined || diff16(seq, this.cache.newestSeq) >= 0) {
      this.lastTs = h.timestamp;
      this.lastArrivalMs = now;
    }
    let keyframe = false;
    if (this.nacks) {
      keyframe = isKeyframe(this.codec.name, packet.payload);
      if (keyframe && (this.kfSeq < 0 || h.timestamp !== this.kfTs)) {
        this.kfSeq = seq;
        this.kfTs = h.timestamp;
        this.kfPackets = [];
        this.counters.keyframes++;
      }
      if (this.kfSeq >= 0 && h.timestamp === this.kfTs) {
        if (keyframe && diff16(seq, this.kfSeq) < 0) this.kfSeq = seq;
        if (this.kfPackets.length < KEYFRAME_MAX_PACKETS) this.kfPackets.push(packet);
      }
      const lost = this.nacks.onPacket(seq, now);
      if (lost === NEED_KEYFRAME) this.requestKeyframe();
      else if (lost) this.sendNack(lost);
    }
    const downs = this.downs;
    for (let i = 0; i < downs.length; i++) {
      try {
        downs[i]!.write(packet, keyframe);
      } catch {
        this.counters.writeErrors++;
      }
    }
  }

  private newSource(ssrc: number): void {
    this.ssrcValue = ssrc;
    this.cache.clear();
    this.nacks?.reset();
    this.kfSeq = -1;
    this.kfPackets = [];
    this.srArrivalMs = undefined;
  }

  addDown(down: DownTrack): void {
    if (this.closed || this.downs.includes(down)) return;
    this.downs = [...this.downs, down];
  }

  removeDown(down: DownTrack): void {
    if (this.downs.includes(down)) this.downs = this.downs.filter((d) => d !== down);
  }

  getPacket(seq: number): RtpPacket | undefined {
    return this.cache.get(seq);
  }

  /**
   * A late joiner's start: if the last keyframe began less than 40 packets ago, it and everything after it
   * (contiguous with the live stream); otherwise the keyframe alone, at any age, even once it has left the
   * cache (the DownTrack then asks for a fresh one).
   */
  replay(): Replay {
    if (this.kind !== 'video' || this.kfSeq < 0 || this.kfPackets.length === 0) return EMPTY_REPLAY;
    const newest = this.cache.newestSeq;
    const nextSeq = add16(newest, 1);
    const span = diff16(newest, this.kfSeq);
    if (span >= 0 && span < REPLAY_COMPLETE_MAX_PACKETS && this.cache.get(this.kfSeq)?.header.timestamp === this.kfTs) {
      const packets: RtpPacket[] = [];
      for (let s = this.kfSeq, i = 0; i <= span; i++, s = add16(s, 1)) {
        const p = this.cache.get(s);
        if (p) packets.push(p);
      }
      return { packets, complete: true, nextSeq };
    }
    const kfSeq = this.kfSeq;
    const packets = [...this.kfPackets].sort((a, b) => diff16(a.header.sequenceNumber, kfSeq) - diff16(b.header.sequenceNumber, kfSeq));
    return { packets, complete: false, nextSeq };
  }

  requestKeyframe(): void {
    if (this.kind !== 'video' || this.ssrcValue === undefined || this.closed) return;
    if (!this.pli.tryAcquire(this.now())) {
      this.counters.plisSuppressed++;
      return;
    }
    this.counters.plisSent++;
    this.feedback.sendPli(this.ssrcValue);
  }

  nack(seqs: readonly number[]): void {
    if (!this.nacks || this.closed) return;
    const toSend = this.nacks.request(seqs, this.now());
    if (toSend.length > 0) this.sendNack(toSend);
  }

  private sendNack(seqs: number[]): void {
    if (this.ssrcValue === undefined) return;
    this.counters.nacksSent++;
    this.counters.nackedPackets += seqs.length;
    this.feedback.sendNack(this.ssrcValue, seqs);
  }

  /** The publisher's sender report: its RTP clock at a moment of its NTP clock, which we note in our own. */
  onSenderReport(rtpTimestamp: number, ntpTimestamp?: bigint): void {
    this.srRtp = rtpTimestamp;
    this.srArrivalMs = this.now();
    this.srNtpMs = ntpTimestamp === undefined ? this.srArrivalMs : ntpToMs(ntpTimestamp);
  }

  /** A sender report as another thread's copy of this track saw it (forward/threads/ mirrors). */
  setSenderClock(clock: SenderClock): void {
    this.srRtp = clock.rtpTimestamp;
    this.srNtpMs = clock.ntpMs;
    this.srArrivalMs = clock.receivedAtMs;
  }

  senderClock(): SenderClock | undefined {
    if (this.srArrivalMs === undefined) return undefined;
    return { rtpTimestamp: this.srRtp, ntpMs: this.srNtpMs, receivedAtMs: this.srArrivalMs };
  }

  rtpTimeAt(nowMs: number): number | undefined {
    let baseTs: number;
    let baseMs: number;
    if (this.srArrivalMs !== undefined) {
      baseTs = this.srRtp;
      baseMs = this.srArrivalMs;
    } else if (this.lastArrivalMs !== undefined) {
      baseTs = this.lastTs;
      baseMs = this.lastArrivalMs;
    } else {
      return undefined;
    }
    return add32(baseTs, Math.round(((nowMs - baseMs) * this.codec.clockRate) / 1000));
  }

  /**
   * What the viewers can take: the largest limit among attached DownTracks that report one (undefined if
   * none does). The maximum, not the minimum: one slow viewer must not hold the publisher (and every other
   * viewer) down; it is moved to a lower simulcast layer by its own rate controller instead.
   */
  downstreamMaxBitrate(): number | undefined {
    let best: number | undefined;
    for (const d of this.downs) {
      const r = d.maxBitrate();
      if (r !== undefined && r > 0 && (best === undefined || r > best)) best = r;
    }
    return best;
  }

  /** Once a second: adapt the NACK delay to the packet rate (Galène: about 20 ms worth of packets). */
  tick(nowMs: number): void {
    const elapsed = nowMs - this.lastTickMs;
    if (elapsed <= 0) return;
    const pps = ((this.counters.packets - this.lastTickPackets) * 1000) / elapsed;
    this.lastTickPackets = this.counters.packets;
    this.lastTickMs = nowMs;
    if (this.nacks) this.nacks.lateBy = Math.max(2, Math.min(24, Math.round(pps / 50)));
  }

  bitrate(nowMs: number): number {
    return this.rate.rate(nowMs);
  }

  temporalBitrates(nowMs: number): number[] {
    const out: number[] = [];
    let sum = 0;
    for (let t = 0; t < this.tidRates.length; t++) {
      sum += this.tidRates[t]?.rate(nowMs) ?? 0;
      out.push(sum);
    }
    return out;
  }

  stats(nowMs: number): TrackStats {
    return {
      bitrate: Math.round(this.rate.rate(nowMs)),
      loss: this.reception.intervalLoss(),
      jitter: this.reception.jitterMs,
    };
  }

  /** Detaches every DownTrack and drops the cache; idempotent. The owner closes the DownTracks' connections. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.downs = [];
    this.cache.clear();
  }
}

/** A 64-bit NTP timestamp (32.32 fixed point, seconds since 1900) in milliseconds. */
function ntpToMs(ntp: bigint): number {
  return Number(ntp >> 32n) * 1000 + (Number(ntp & 0xffffffffn) * 1000) / 2 ** 32;
}
