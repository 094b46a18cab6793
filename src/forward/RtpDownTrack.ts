import { RtpHeader, type RtpPacket } from 'werift';
import { RateEstimator } from './RateEstimator.js';
import { compactNtp, ntpFromMs, rttFromReport } from './rtcp.js';
import { add16, add32 } from './seq.js';
import { SeqRewriter } from './SeqRewriter.js';
import type { DownTrack, TrackKind, TrackStats, UpTrack } from './types.js';

/**
 * Where a DownTrack's packets go: its down connection's SRTP transport. The header is serialised before
 * `sendRtp` returns, so the DownTrack reuses one header object for every packet.
 */
export interface RtpSink {
  sendRtp(payload: Buffer, header: RtpHeader): void;
}

/** What a viewer reported in an RTCP reception report block about this track. */
export interface ReceptionReport {
  fractionLost: number;
  jitter: number;
  lsr: number;
  dlsr: number;
}

/** The fields of a sender report for this track, built by the down connection into one compound packet. */
export interface SenderReportInfo {
  ssrc: number;
  ntpTimestamp: bigint;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
}

export interface RtpDownTrackOptions {
  id: string;
  kind: TrackKind;
  /** Our SSRC towards the viewer. */
  ssrc: number;
  /** Our payload type towards the viewer (Galène's fixed one). */
  payloadType: number;
  clockRate: number;
  sink: RtpSink;
  /** Wall clock in ms (Date.now); injectable for tests. */
  now?: () => number;
}

/** Retransmissions of the same packet to the same viewer are at least this far apart. */
const RETRANSMIT_GUARD_MS = 10;
const RECENT = 64;

export interface DownTrackCounters {
  packets: number;
  bytes: number;
  dropped: number;
  retransmitted: number;
  nackedMissing: number;
  nacksReceived: number;
  keyframeRequests: number;
  replayed: number;
}

/**
 * One forwarded track towards one viewer: rewrites each upstream packet into the viewer's numbering (its own
 * SSRC and payload type, no header extensions) and hands it to the sink; answers the viewer's NACKs from the
 * up track's cache, turns its PLI/FIR into keyframe requests, keeps what its reports say for stats and the
 * uplink REMB, and provides the data for sender reports.
 */
export class RtpDownTrack implements DownTrack {
  readonly id: string;
  readonly kind: TrackKind;
  readonly ssrc: number;
  private readonly clockRate: number;
  private readonly sink: RtpSink;
  private readonly now: () => number;
  private readonly header: RtpHeader;
  private readonly rw: SeqRewriter;
  private readonly rate: RateEstimator;
  private src: UpTrack | undefined;
  private waitKeyframe = false;
  private remb: number | undefined;
  private loss = 0;
  private jitterMs: number | undefined;
  private rttMs: number | undefined;
  private readonly srSent: { compact: number; atMs: number }[] = [];
  private readonly recentSeq = new Int32Array(RECENT).fill(-1);
  private readonly recentAt = new Float64Array(RECENT);
  readonly counters: DownTrackCounters = {
    packets: 0,
    bytes: 0,
    dropped: 0,
    retransmitted: 0,
    nackedMissing: 0,
    nacksReceived: 0,
    keyframeRequests: 0,
    replayed: 0,
  };

  constructor(opts: RtpDownTrackOptions) {
    this.id = opts.id;
    this.kind = opts.kind;
    this.ssrc = opts.ssrc;
    this.clockRate = opts.clockRate;
    this.sink = opts.sink;
    this.now = opts.now ?? Date.now;
    this.header = new RtpHeader({ ssrc: opts.ssrc, payloadType: opts.payloadType });
    // About one video frame, or one audio packet, between two sources.
    this.rw = new SeqRewriter(opts.kind === 'video' ? Math.round(opts.clockRate / 30) : Math.round(opts.clockRate / 50));
    this.rate = new RateEstimator(this.now());
  }

  /** The up track being forwarded, if any. */
  get source(): UpTrack | undefined {
    return this.src;
  }

  /**
   * Forward `up` from now on (undefined: stop). Sends the replay at once (the cached keyframe for video), so
   * a viewer sees a picture without waiting for the publisher's next keyframe. Call when the transport is up.
   */
  setSource(up: UpTrack | undefined): void {
    if (up === this.src) return;
    this.src?.removeDown(this);
    this.src = up;
    if (!up) return;
    if (up.kind === 'video') this.startVideo(up);
    up.addDown(this);
  }

  private startVideo(up: UpTrack): void {
    const r = up.replay();
    const first = r.packets[0];
    if (!first) {
      // Nothing cached: forward from the next packet. After a switch, wait for a keyframe of the new source
      // rather than mixing two streams in the viewer's decoder.
      this.waitKeyframe = this.rw.hasStarted;
      up.requestKeyframe();
      return;
    }
    this.waitKeyframe = false;
    if (r.complete) {
      this.rw.startContiguous(first.header.ssrc, first.header.sequenceNumber, first.header.timestamp);
      for (const p of r.packets) {
        if (this.rw.map(p.header.ssrc, p.header.sequenceNumber, p.header.timestamp)) this.send(p, this.rw.seq, this.rw.ts);
      }
    } else {
      const last = r.packets[r.packets.length - 1]!;
      const base = this.rw.startRenumbered(
        first.header.ssrc,
        r.packets.map((p) => p.header.sequenceNumber),
        first.header.timestamp,
        last.header.timestamp,
        r.nextSeq,
      );
      for (let i = 0; i < r.packets.length; i++) {
        const p = r.packets[i]!;
        this.send(p, add16(base, i), this.rw.mapTs(p.header.timestamp));
      }
      // The viewer has a picture but not what followed it: ask for a fresh keyframe (rate-limited upstream).
      up.requestKeyframe();
    }
    this.counters.replayed += r.packets.length;
  }

  write(packet: RtpPacket, keyframe: boolean): void {
    if (this.waitKeyframe) {
      if (!keyframe) {
        this.counters.dropped++;
        return;
      }
      this.waitKeyframe = false;
    }
    const h = packet.header;
    if (!this.rw.map(h.ssrc, h.sequenceNumber, h.timestamp)) {
      this.counters.dropped++;
      return;
    }
    this.send(packet, this.rw.seq, this.rw.ts);
  }

  private send(p: RtpPacket, seq: number, ts: number): void {
    const h = this.header;
    h.sequenceNumber = seq;
    h.timestamp = ts;
    h.marker = p.header.marker;
    h.csrc = p.header.csrc;
    this.sink.sendRtp(p.payload, h);
    this.counters.packets++;
    this.counters.bytes += p.payload.length;
    this.rate.add(p.payload.length + 12);
  }

  maxBitrate(): number | undefined {
    return this.remb;
  }

  /** The viewer NACKed these (downstream) sequence numbers. */
  handleNack(lost: readonly number[]): void {
    this.counters.nacksReceived++;
    const up = this.src;
    if (!up) return;
    const now = this.now();
    let missing: number[] | undefined;
    for (const downSeq of lost) {
      const upSeq = this.rw.upSeq(downSeq);
      if (upSeq < 0) continue;
      const p = up.getPacket(upSeq);
      if (!p) {
        (missing ??= []).push(upSeq);
        continue;
      }
      const slot = downSeq & (RECENT - 1);
      if (this.recentSeq[slot] === downSeq && now - this.recentAt[slot]! < RETRANSMIT_GUARD_MS) continue;
      this.recentSeq[slot] = downSeq;
      this.recentAt[slot] = now;
      this.send(p, downSeq, this.rw.mapTs(p.header.timestamp));
      this.counters.retransmitted++;
    }
    if (missing) {
      this.counters.nackedMissing += missing.length;
      up.nack(missing);
    }
  }

  /** The viewer sent a PLI or FIR. */
  handleKeyframeRequest(): void {
    this.counters.keyframeRequests++;
    this.src?.requestKeyframe();
  }

  /** The viewer sent a REMB covering this track. */
  handleRemb(bitrate: number): void {
    this.remb = bitrate;
  }

  /** A reception report block about this track. */
  handleReport(r: ReceptionReport): void {
    this.loss = r.fractionLost / 256;
    this.jitterMs = (r.jitter * 1000) / this.clockRate;
    if (r.lsr !== 0) {
      const sent = this.srSent.find((s) => s.compact === r.lsr);
      if (sent) {
        const rtt = rttFromReport(this.now(), sent.atMs, r.dlsr);
        if (rtt !== undefined) this.rttMs = rtt;
      }
    }
  }

  /**
   * The sender report for this track at wall-clock time `nowMs`, or undefined if nothing was sent yet or the
   * source's clock is unknown. The RTP time comes from the up track (the publisher's SR mapping, else the
   * arrival of its last packet), so audio and video of one stream stay in sync at the viewer.
   */
  senderReport(nowMs: number): SenderReportInfo | undefined {
    if (this.counters.packets === 0 || !this.src) return undefined;
    const upTs = this.src.rtpTimeAt(nowMs);
    if (upTs === undefined) return undefined;
    const ntp = ntpFromMs(nowMs);
    this.srSent.push({ compact: compactNtp(ntp), atMs: nowMs });
    if (this.srSent.length > 4) this.srSent.shift();
    return {
      ssrc: this.ssrc,
      ntpTimestamp: ntp,
      rtpTimestamp: this.rw.mapTs(upTs),
      packetCount: add32(this.counters.packets, 0), // RTCP counters wrap at 2^32
      octetCount: add32(this.counters.bytes, 0),
    };
  }

  stats(nowMs: number): TrackStats {
    const s: TrackStats = { bitrate: Math.round(this.rate.rate(nowMs)), loss: this.loss };
    if (this.remb !== undefined) s.maxBitrate = this.remb;
    if (this.rttMs !== undefined) s.rtt = this.rttMs;
    if (this.jitterMs !== undefined) s.jitter = this.jitterMs;
    return s;
  }

  /** Detaches from the source; idempotent. */
  close(): void {
    this.setSource(undefined);
  }
}
