import type { RTCRtpTransceiver, TransportWideCC } from 'werift';
import type { Logger } from '../log.js';
import { DelayEstimator, MIN_RATE } from './DelayEstimator.js';
import { LayerSelector } from './LayerSelector.js';
import { ALL_TEMPORAL_LAYERS, type RtpDownTrack } from './RtpDownTrack.js';
import { twccExtensionId, TwccSender } from './twcc.js';
import type { UpTrack } from './types.js';

/** What TWCC says about this viewer's transport (for stats and tests). */
export interface TwccStats {
  /** The negotiated session has the transport-wide sequence number extension. */
  negotiated: boolean;
  /** Feedback messages received. */
  feedback: number;
  /** Times the delay-based estimate was set from an overuse. */
  overuses: number;
  /** The delay-based estimate of the transport, bit/s (undefined: not limiting). */
  estimate?: number;
}

/**
 * One viewer transport's congestion control, the same for every kind of down connection (DownConnection for
 * protocol clients, WhepConnection for WHEP): if the session negotiated transport-wide-cc, a TwccSender
 * numbers every packet sent and the viewer's TWCC feedback drives a DelayEstimator, whose estimate (less what
 * the other tracks take) is a limit on the video's RateController, beside REMB and loss; every SR interval
 * the video's simulcast layer, and on the lowest layer its VP8 temporal layers, are chosen from what that
 * RateController allows (LayerSelector).
 */
export class ViewerRate {
  private sender: TwccSender | undefined;
  private readonly delay = new DelayEstimator();
  /** The simulcast layer of the video (when the up stream has several), from the viewer's rate. */
  private readonly spatial = new LayerSelector();
  /** The VP8 temporal layers of the video on the lowest simulcast layer (0 = all of them). */
  private readonly temporal = new LayerSelector();
  private feedback = 0;

  constructor(private readonly log: Logger) {}

  /** Numbers this transport's packets (for `transceiverSink`), once negotiated. */
  get twcc(): TwccSender | undefined {
    return this.sender;
  }

  /**
   * The negotiated SDP (the viewer's answer to our offer, or our answer to its offer): transport-wide-cc on
   * or off. A renegotiation that keeps the same id keeps the numbering and its send history.
   */
  negotiated(sdp: string): void {
    const id = twccExtensionId(sdp);
    if (id === undefined) this.sender = undefined;
    else if (this.sender?.extensionId !== id) this.sender = new TwccSender(id);
  }

  /** The simulcast layer index the video is on or moving to (0 = best). */
  get layer(): number {
    return this.spatial.layer;
  }

  /** The video is put on `layer` without the selector having chosen it (e.g. leaving `video-low`). */
  resetLayer(layer: number, now: number): void {
    this.spatial.reset(layer, now);
  }

  /** TWCC feedback: the delay estimate of the transport, less what the other tracks take, limits the video. */
  onTwccFeedback(fb: TransportWideCC, video: RtpDownTrack | undefined, ...others: (RtpDownTrack | undefined)[]): void {
    if (!this.sender) return;
    this.feedback++;
    this.delay.update(this.sender.samples(fb), performance.now());
    if (!video) return;
    const estimate = this.delay.estimate;
    const now = Date.now();
    const rest = others.reduce((sum, t) => sum + (t?.sentBitrate(now) ?? 0), 0);
    video.rateControl.onDelayEstimate(estimate === undefined ? undefined : Math.max(MIN_RATE, estimate - rest));
  }

  /**
   * Every SR interval, for a video track that is forwarding: the best of `layers` (simulcast, best first) the
   * viewer can take now, from the track's RateController and the layers' measured bitrates (`pinnedLow`: the
   * last one); a change starts a switch in the track. Then its temporal layers.
   */
  adapt(video: RtpDownTrack, layers: readonly UpTrack[], pinnedLow: boolean, now: number): void {
    if (layers.length >= 2) {
      const bitrates = layers.map((t) => t.bitrate(now));
      const before = this.spatial.layer;
      const i = this.spatial.choose(bitrates, video.maxBitrate(), pinnedLow, now);
      if (i !== before) {
        this.log.debug({ from: layers[before]?.rid, to: layers[i]?.rid, limit: video.maxBitrate(), bitrates }, 'layer switch');
        video.setSource(layers[i]);
      }
    }
    this.adaptTemporalLayer(video, layers, now);
  }

  /**
   * On the lowest simulcast layer (or the only one), a viewer that cannot take even that gets fewer VP8
   * temporal layers (a lower frame rate), chosen like the spatial layer from the cumulative rates of TIDs
   * 0..t; above the lowest layer, or without TIDs, it gets them all.
   */
  private adaptTemporalLayer(track: RtpDownTrack, layers: readonly UpTrack[], now: number): void {
    const src = track.source;
    const rates = src && src === layers[layers.length - 1] && !track.pending ? (src.temporalBitrates?.(now) ?? []) : [];
    if (rates.length < 2) {
      track.maxTemporalLayer = ALL_TEMPORAL_LAYERS;
      if (this.temporal.layer !== 0) this.temporal.reset(0, now);
      return;
    }
    const i = this.temporal.choose([...rates].reverse(), track.maxBitrate(), false, now);
    track.maxTemporalLayer = i === 0 ? ALL_TEMPORAL_LAYERS : rates.length - 1 - i;
  }

  twccStats(): TwccStats {
    const s: TwccStats = { negotiated: this.sender !== undefined, feedback: this.feedback, overuses: this.delay.overuses };
    if (this.delay.estimate !== undefined) s.estimate = Math.round(this.delay.estimate);
    return s;
  }
}

/**
 * werift's sender would also read the viewer's TWCC feedback (routed to it by SSRC) and compute its own
 * estimate from packets it sent itself, which here is none: wasted work per feedback message. Shadowed on
 * the instance (werift 0.24.4: `RTCRtpSender.senderBWE.receiveTWCC`).
 */
export function ignoreWeriftTwcc(transceiver: RTCRtpTransceiver): void {
  const bwe = (transceiver.sender as unknown as { senderBWE?: { receiveTWCC?: unknown } }).senderBWE;
  if (bwe) bwe.receiveTWCC = () => undefined;
}
