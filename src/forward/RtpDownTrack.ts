import { RtpHeader, type RtpPacket } from 'werift';
import { RateController } from './RateController.js';
import { RateEstimator } from './RateEstimator.js';
import { compactNtp, ntpFromMs, rttFromReport } from './rtcp.js';
import { add16, add32 } from './seq.js';
import { SeqRewriter } from './SeqRewriter.js';
import { vp8TemporalLayer, Vp8Rewriter } from './Vp8Rewriter.js';
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

/** VP8 carries at most 4 temporal layers (TID 0-3): this forwards them all. */
export const ALL_TEMPORAL_LAYERS = 3;
/**
 * Retransmissions of the same packet to the same viewer are at least this far apart, or a round trip when
 * that is longer: sooner, the viewer cannot have seen the first one. werift repeats its whole NACK list
 * every 5 ms, Chromium every round trip.
 */
const RETRANSMIT_GUARD_MS = 20;
/** Packets whose last retransmission is remembered (werift's NACK lists hold up to 150). */
const RECENT = 512;
/**
 * Retransmissions are paid for by live packets: each one forwarded earns RETRANSMIT_SHARE of a resend, and up
 * to RETRANSMIT_BURST are saved. Whatever a viewer's NACKs ask for, resends add at most half its live rate,
 * so a viewer that fell behind is not buried under copies of what it missed (and then loses its audio, which
 * nobody NACKs, at its socket).
 */
const RETRANSMIT_SHARE = 0.5;
const RETRANSMIT_BURST = 64;
/** While waiting for the new layer's keyframe, ask for one again this often (the up track throttles too). */
const SWITCH_PLI_INTERVAL_MS = 1000;

export interface DownTrackCounters {
  packets: number;
  bytes: number;
  dropped: number;
  retransmitted: number;
  /** NACKed packets not resent: over the retransmission budget (RETRANSMIT_SHARE). */
  retransmitsDeclined: number;
  nackedMissing: number;
  nacksReceived: number;
  keyframeRequests: number;
  replayed: number;
  /** Layer switches completed (the new layer's keyframe went out). */
  switches: number;
  /** VP8 packets of temporal layers above `maxTemporalLayer`, left out. */
  temporalDropped: number;
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
  /** A layer switch in progress: the layer we move to, fed to `tap` until its keyframe. */
  private pendingSrc: UpTrack | undefined;
  private pendingAskedAt = 0;
  /** The source before the last switch: NACKs for its last packets are still answered from its cache. */
  private prevSrc: UpTrack | undefined;
  private readonly tap: DownTrack;
  private readonly vp8 = new Vp8Rewriter();
  private rewriteVp8 = false;
  /**
   * VP8 temporal layers above this one are left out (their frames are not references for lower layers) and
   * the viewer's numbering closes over them; ALL_TEMPORAL_LAYERS forwards everything.
   */
  maxTemporalLayer = ALL_TEMPORAL_LAYERS;
  private waitKeyframe = false;
  /** What the viewer can take (REMB and loss), for the layer choice and the uplink REMB. */
  readonly rateControl = new RateController();
  private loss = 0;
  private jitterMs: number | undefined;
  private rttMs: number | undefined;
  private readonly srSent: { compact: number; atMs: number }[] = [];
  private readonly recentSeq = new Int32Array(RECENT).fill(-1);
  private readonly recentAt = new Float64Array(RECENT);
  private retransmitBudget = RETRANSMIT_BURST;
  readonly counters: DownTrackCounters = {
    packets: 0,
    bytes: 0,
    dropped: 0,
    retransmitted: 0,
    retransmitsDeclined: 0,
    nackedMissing: 0,
    nacksReceived: 0,
    keyframeRequests: 0,
    replayed: 0,
    switches: 0,
    temporalDropped: 0,
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
    this.tap = { id: `${opts.id}:pending`, write: (p, kf) => this.writePending(p, kf), maxBitrate: () => undefined };
  }

  /** The up track being forwarded, if any. */
  get source(): UpTrack | undefined {
    return this.src;
  }

  /** The layer a switch is waiting for (its keyframe), if any. */
  get pending(): UpTrack | undefined {
    return this.pendingSrc;
  }

  /**
   * Forward `up` from now on (undefined: stop). Sends the replay at once (the cached keyframe for video), so
   * a viewer sees a picture without waiting for the publisher's next keyframe. Call when the transport is up.
   *
   * While video is flowing, a new source is a layer switch: the current one keeps going until the new one's
   * next keyframe (asked for with a PLI on that layer), which then follows the last packet sent without a
   * gap in sequence numbers, one frame later in RTP time, with continuous VP8 picture ids (`switchTo`).
   */
  setSource(up: UpTrack | undefined): void {
    if (up === this.src) {
      this.cancelPending();
      return;
    }
    const cur = this.src;
    if (up && cur && up.kind === 'video' && cur.kind === 'video' && this.rw.hasStarted && this.counters.packets > 0) {
      if (up === this.pendingSrc) return;
      this.cancelPending();
      this.pendingSrc = up;
      this.pendingAskedAt = this.now();
      up.addDown(this.tap);
      up.requestKeyframe();
      return;
    }
    this.cancelPending();
    cur?.removeDown(this);
    this.prevSrc = this.rw.hasStarted ? cur : undefined;
    this.src = up;
    if (!up) return;
    this.rewriteVp8 = up.codec.name === 'vp8';
    if (up.kind === 'video') this.startVideo(up);
    up.addDown(this);
  }

  private cancelPending(): void {
    const p = this.pendingSrc;
    if (!p) return;
    this.pendingSrc = undefined;
    p.removeDown(this.tap);
  }

  /** A packet of the layer being switched to: dropped until its keyframe, which completes the switch. */
  private writePending(packet: RtpPacket, keyframe: boolean): void {
    const next = this.pendingSrc;
    if (!next) return;
    if (!keyframe) {
      const now = this.now();
      if (now - this.pendingAskedAt >= SWITCH_PLI_INTERVAL_MS) {
        this.pendingAskedAt = now;
        next.requestKeyframe();
      }
      return;
    }
    this.pendingSrc = undefined;
    next.removeDown(this.tap);
    this.src?.removeDown(this);
    this.prevSrc = this.src;
    this.src = next;
    this.rewriteVp8 = next.codec.name === 'vp8';
    // The fan-out loops over a copy of the list: this packet is not delivered twice.
    next.addDown(this);
    this.waitKeyframe = false;
    const h = packet.header;
    this.rw.startContiguous(h.ssrc, h.sequenceNumber, h.timestamp);
    if (this.rewriteVp8) this.vp8.restart(packet.payload);
    this.counters.switches++;
    this.write(packet, true);
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
    if (this.rewriteVp8) this.vp8.restart(first.payload);
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
    if (h.ssrc !== this.rw.source && this.rewriteVp8) this.vp8.restart(packet.payload);
    if (this.maxTemporalLayer < ALL_TEMPORAL_LAYERS && this.rewriteVp8 && vp8TemporalLayer(packet.payload) > this.maxTemporalLayer) {
      this.rw.skip(h.ssrc, h.sequenceNumber, h.timestamp);
      this.counters.temporalDropped++;
      return;
    }
    if (!this.rw.map(h.ssrc, h.sequenceNumber, h.timestamp)) {
      this.counters.dropped++;
      return;
    }
    this.send(packet, this.rw.seq, this.rw.ts);
    if (this.retransmitBudget < RETRANSMIT_BURST) this.retransmitBudget += RETRANSMIT_SHARE;
  }

  private send(p: RtpPacket, seq: number, ts: number, previousSource = false): void {
    const h = this.header;
    h.sequenceNumber = seq;
    h.timestamp = ts;
    h.marker = p.header.marker;
    h.csrc = p.header.csrc;
    this.sink.sendRtp(this.rewriteVp8 ? this.vp8.rewrite(p.payload, previousSource) : p.payload, h);
    this.counters.packets++;
    this.counters.bytes += p.payload.length;
    this.rate.add(p.payload.length + 12);
  }

  /** What the viewer can take: its recent REMB, the loss- and delay-based estimates (Galène's GetMaxBitrate). */
  maxBitrate(): number | undefined {
    return this.rateControl.limit(this.now());
  }

  /** The rate sent to the viewer, bit/s (about the last second). */
  sentBitrate(nowMs: number): number {
    return this.rate.rate(nowMs);
  }

  /** The viewer NACKed these (downstream) sequence numbers. */
  handleNack(lost: readonly number[]): void {
    this.counters.nacksReceived++;
    const up = this.src;
    if (!up) return;
    const now = this.now();
    const guardMs = Math.max(RETRANSMIT_GUARD_MS, this.rttMs ?? 0);
    let missing: number[] | undefined;
    for (const downSeq of lost) {
      let upSeq = this.rw.upSeq(downSeq);
      let from = up;
      let previous = false;
      if (upSeq < 0 && this.prevSrc) {
        // Sent from the layer before the last switch (lost just before it): answer from that layer's cache.
        upSeq = this.rw.prevUpSeq(downSeq);
        from = this.prevSrc;
        previous = true;
      }
      if (upSeq < 0) continue;
      const p = from.getPacket(upSeq);
      if (!p) {
        if (!previous) (missing ??= []).push(upSeq);
        continue;
      }
      const slot = downSeq & (RECENT - 1);
      if (this.recentSeq[slot] === downSeq && now - this.recentAt[slot]! < guardMs) continue;
      if (this.retransmitBudget < 1) {
        this.counters.retransmitsDeclined++;
        continue;
      }
      this.retransmitBudget--;
      this.recentSeq[slot] = downSeq;
      this.recentAt[slot] = now;
      this.send(p, downSeq, previous ? this.rw.prevMapTs(p.header.timestamp) : this.rw.mapTs(p.header.timestamp), previous);
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
    this.rateControl.onRemb(bitrate, this.now());
  }

  /** A reception report block about this track. */
  handleReport(r: ReceptionReport): void {
    this.loss = r.fractionLost / 256;
    if (this.kind === 'video' && this.counters.packets > 0) this.rateControl.onLoss(this.loss, this.rate.rate(this.now()));
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
    const max = this.rateControl.limit(nowMs);
    if (max !== undefined) s.maxBitrate = Math.round(max);
    if (this.rttMs !== undefined) s.rtt = this.rttMs;
    if (this.jitterMs !== undefined) s.jitter = this.jitterMs;
    return s;
  }

  /** Detaches from the source (and a pending layer); idempotent. */
  close(): void {
    this.setSource(undefined);
  }
}
