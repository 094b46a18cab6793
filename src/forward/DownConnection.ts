import { EventEmitter } from 'node:events';
import {
  MediaStream,
  RTCPeerConnection,
  useTransportWideCC,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type TransportWideCC,
} from 'werift';
import { errorMessage, LecternError } from '../errors.js';
import type { Logger } from '../log.js';
import { CODECS } from './codecs.js';
import { DelayEstimator, MIN_RATE } from './DelayEstimator.js';
import { transceiverSink } from './directSend.js';
import { LayerSelector } from './LayerSelector.js';
import {
  addCandidate,
  gatheringComplete,
  resumeIceAfterRestart,
  serverPeerConfig,
  watchDtlsServer,
  weriftCodec,
  type IceCandidateInit,
} from './peerConfig.js';
import { routeViewerRtcp, sendSenderReports } from './viewerRtcp.js';
import { ALL_TEMPORAL_LAYERS, RtpDownTrack, type DownTrackCounters } from './RtpDownTrack.js';
import { finalizeOffer, looksLikeSdp } from './sdpText.js';
import { twccExtensionId, TwccSender } from './twcc.js';
import type { ConnStats, IceOptions, StreamRequest, TrackKind, UpSource, UpTrack } from './types.js';

export interface DownConnectionOptions {
  /** = the up stream's id: Galène offers down streams under the publisher's stream id. */
  id: string;
  /** The viewer. */
  clientId: string;
  /** A subset of 'audio', 'video', 'video-low'; anything else is ignored. */
  request: readonly string[];
  ice: IceOptions;
  log: Logger;
}

export interface DownConnectionEvents {
  /** ICE failed: the client should be sent a new offer with an ICE restart. */
  failed: [];
  /** Closed, by `close()` or because the publisher's stream closed. */
  close: [reason: string];
  /** The request now needs a kind of track this connection has not offered: call createOffer() again. */
  negotiationneeded: [];
}

const SR_INTERVAL_MS = 500;
/** RTPFB format 1 (RFC 4585); werift's classes are matched by format, not instanceof. */
const REQUESTS: readonly StreamRequest[] = ['audio', 'video', 'video-low'];

interface Slot {
  readonly transceiver: RTCRtpTransceiver;
  readonly track: RtpDownTrack;
}

/** What TWCC says about this viewer's transport (for stats and tests). */
export interface TwccStats {
  /** The viewer's answer accepted the transport-wide sequence number extension. */
  negotiated: boolean;
  /** Feedback messages received. */
  feedback: number;
  /** Times the delay-based estimate was set from an overuse. */
  overuses: number;
  /** The delay-based estimate of the transport, bit/s (undefined: not limiting). */
  estimate?: number;
}

/**
 * One viewer's connection to one published stream: the server offers sendonly audio/video (the codec the
 * publisher uses, Galène's fixed payload type, the transport-wide-cc header extension only) and, once
 * connected, attaches a RtpDownTrack per kind to the chosen up track ('video' = first simulcast layer,
 * 'video-low' = last). A viewer that accepts transport-wide-cc gets every packet numbered, and its feedback
 * drives a DelayEstimator whose estimate (less what audio takes) limits the video's layer choice, alongside
 * REMB and loss.
 *
 * Packets are encrypted with the DTLS transport's SRTP keys and sent on its ICE socket (`directSend.ts`), not
 * through RTCRtpSender.sendRtp: sendRtp mutates the packet it is given and answers NACKs from its own cache,
 * whereas here one upstream packet object is shared by every viewer and NACKs are answered from the up
 * track's cache. Sender reports are built here too (werift's sender only reports on what went through
 * sendRtp).
 */
export class DownConnection extends EventEmitter<DownConnectionEvents> {
  readonly id: string;
  readonly clientId: string;
  private readonly up: UpSource;
  private readonly log: Logger;
  private readonly pc: RTCPeerConnection;
  private readonly stream: MediaStream;
  private readonly slots = new Map<TrackKind, Slot>();
  /** Kinds the up stream had when this connection was made (its codecs are fixed then). */
  private readonly kinds = new Set<TrackKind>();
  private readonly bySsrc = new Map<number, RtpDownTrack>();
  private readonly watched = new WeakSet<RTCDtlsTransport>();
  private readonly unsubscribers: (() => void)[] = [];
  private requested = new Set<StreamRequest>();
  /** The simulcast layer of the video (when the up stream has several), from the viewer's rate. */
  private readonly layers = new LayerSelector();
  /** The VP8 temporal layers of the video on the lowest simulcast layer (0 = all of them). */
  private readonly temporal = new LayerSelector();
  /** Set once the viewer's answer accepted transport-wide-cc. */
  private twcc: TwccSender | undefined;
  private readonly delay = new DelayEstimator();
  private twccFeedback = 0;
  private connected = false;
  private offered = false;
  private srTimer: NodeJS.Timeout | undefined;
  private closedReason: string | undefined;
  private readonly onUpClose = (): void => this.close('publisher closed');
  private readonly onUpTrack = (): void => this.upTracksChanged();

  /** NAT 1:1: announced in our candidates instead of the local addresses. */
  private readonly publicAddresses: readonly string[];

  constructor(up: UpSource, opts: DownConnectionOptions) {
    super();
    this.publicAddresses = opts.ice.publicAddresses ?? [];
    this.id = opts.id;
    this.clientId = opts.clientId;
    this.up = up;
    this.log = opts.log.child({ down: opts.id, client: opts.clientId });
    this.requested = parseRequest(opts.request);
    this.stream = new MediaStream({ id: streamId(opts.id) });
    const codecOf = (kind: TrackKind) => {
      const t = up.tracks().find((x) => x.kind === kind);
      if (!t) return [];
      this.kinds.add(kind);
      const codec = weriftCodec(CODECS[t.codec.name]);
      codec.rtcpFeedback.push({ type: 'transport-cc' });
      return [codec];
    };
    // One object for both kinds: werift numbers extensions by position, and a bundle needs one id per URI.
    const twcc = useTransportWideCC();
    this.pc = new RTCPeerConnection({
      ...serverPeerConfig(opts.ice),
      codecs: { audio: codecOf('audio'), video: codecOf('video') },
      headerExtensions: { audio: [twcc], video: [twcc] },
    });
    const sub = this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    this.unsubscribers.push(sub.unSubscribe);
    up.on('close', this.onUpClose);
    up.on('track', this.onUpTrack);
    if (up.closed) queueMicrotask(() => this.close('publisher closed'));
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * The server's offer (gathering complete, candidates embedded). Adds transceivers for newly requested
   * kinds; `iceRestart` after a 'failed' event or a client's `renegotiate`.
   */
  async createOffer(opts: { iceRestart?: boolean } = {}): Promise<string> {
    if (this.closed) throw new LecternError('closed', 'the down stream is closed');
    this.ensureTransceivers();
    this.offered = true;
    const offer = await this.pc.createOffer({ iceRestart: opts.iceRestart ?? false });
    await this.pc.setLocalDescription(offer);
    await gatheringComplete(this.pc);
    const local = this.pc.localDescription;
    if (!local) throw new LecternError('closed', 'no local description');
    this.watchTransports();
    return finalizeOffer(local.sdp, this.publicAddresses);
  }

  /** The viewer's answer. Throws LecternError 'bad-sdp' on garbage; the connection stays usable. */
  async setAnswer(sdp: string): Promise<void> {
    if (this.closed) throw new LecternError('closed', 'the down stream is closed');
    if (!looksLikeSdp(sdp)) throw new LecternError('bad-sdp', 'the answer is not an SDP description');
    if (this.pc.signalingState !== 'have-local-offer') throw new LecternError('bad-sdp', 'no offer is pending');
    try {
      await this.pc.setRemoteDescription({ type: 'answer', sdp });
    } catch (e) {
      throw new LecternError('bad-sdp', `cannot apply the answer: ${errorMessage(e)}`, { cause: e });
    }
    resumeIceAfterRestart(this.pc, (err) => {
      this.log.info({ err: errorMessage(err) }, 'ICE failed after a restart');
      if (!this.closed) this.emit('failed');
    });
    const twccId = twccExtensionId(sdp);
    if (twccId === undefined) this.twcc = undefined;
    else if (this.twcc?.extensionId !== twccId) this.twcc = new TwccSender(twccId);
    this.watchTransports();
    // A renegotiation may have added a track (video requested after audio only): start forwarding it.
    if (this.connected) this.route();
  }

  async addIceCandidate(c: IceCandidateInit): Promise<void> {
    if (this.closed) return;
    await addCandidate(this.pc, c);
  }

  /** Galène's requestStream: which of audio/video/video-low to forward. Dropping video stops it at once. */
  setRequest(request: readonly string[]): void {
    if (this.closed) return;
    const wasPinned = this.pinnedLow();
    this.requested = parseRequest(request);
    if (this.pinnedLow() !== wasPinned) {
      // Leaving video-low: start from the best layer, the rate controller moves down if it must.
      const n = this.videoLayers().length;
      this.layers.reset(this.pinnedLow() ? Math.max(0, n - 1) : 0, Date.now());
    }
    if (this.connected) this.route();
    if (this.missingTransceiver()) this.emit('negotiationneeded');
  }

  /** The index of the video layer this viewer is on or moving to (0 = best; -1 if none), for tests and stats. */
  get videoLayer(): number {
    const t = this.slots.get('video')?.track;
    const s = t?.pending ?? t?.source;
    return s ? this.videoLayers().indexOf(s) : -1;
  }

  private pinnedLow(): boolean {
    return this.requested.has('video-low') && !this.requested.has('video');
  }

  private videoLayers(): UpTrack[] {
    return this.up.tracks().filter((t) => t.kind === 'video');
  }

  /**
   * Every SR interval: the best simulcast layer this viewer can take now (LayerSelector, from the down
   * track's RateController and the layers' measured bitrates); a change starts a switch in the down track.
   */
  private adaptLayer(now: number): void {
    const slot = this.slots.get('video');
    if (!slot || !this.wants('video') || !slot.track.source) return;
    const layers = this.videoLayers();
    if (layers.length >= 2) {
      const bitrates = layers.map((t) => t.bitrate(now));
      const before = this.layers.layer;
      const i = this.layers.choose(bitrates, slot.track.maxBitrate(), this.pinnedLow(), now);
      if (i !== before) {
        this.log.debug({ from: layers[before]?.rid, to: layers[i]?.rid, limit: slot.track.maxBitrate(), bitrates }, 'layer switch');
        slot.track.setSource(layers[i]);
      }
    }
    this.adaptTemporalLayer(slot.track, layers, now);
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

  private ensureTransceivers(): void {
    for (const kind of ['audio', 'video'] as const) {
      if (this.slots.has(kind) || !this.wants(kind) || !this.upTrackOf(kind)) continue;
      const codec = this.upTrackOf(kind)!.codec;
      const spec = CODECS[codec.name];
      if (!this.kinds.has(kind)) continue; // a kind that appeared after construction: needs a new connection
      const transceiver = this.pc.addTransceiver(kind, { direction: 'sendonly', streams: [this.stream] });
      const sender = transceiver.sender;
      const track = new RtpDownTrack({
        id: `${this.id}:${this.clientId}:${kind}`,
        kind,
        ssrc: sender.ssrc,
        payloadType: spec.payloadType,
        clockRate: spec.clockRate,
        sink: transceiverSink(transceiver, () => this.twcc),
      });
      ignoreWeriftTwcc(transceiver);
      this.slots.set(kind, { transceiver, track });
      this.bySsrc.set(sender.ssrc, track);
    }
  }

  private wants(kind: TrackKind): boolean {
    return kind === 'audio' ? this.requested.has('audio') : this.requested.has('video') || this.requested.has('video-low');
  }

  private missingTransceiver(): boolean {
    if (!this.offered) return false; // the first createOffer() adds them
    return (['audio', 'video'] as const).some((k) => this.wants(k) && !this.slots.has(k) && this.kinds.has(k) && this.upTrackOf(k));
  }

  /**
   * The up track a kind is forwarded from: for video the layer chosen by rate (the first one at start), or
   * the last one for 'video-low'.
   */
  private upTrackOf(kind: TrackKind): UpTrack | undefined {
    const tracks = this.up.tracks().filter((t) => t.kind === kind);
    if (kind !== 'video' || tracks.length < 2) return tracks[0];
    if (this.pinnedLow()) return tracks[tracks.length - 1];
    return tracks[Math.min(this.layers.layer, tracks.length - 1)];
  }

  /** Attaches each DownTrack to the up track it should forward now (or detaches it). */
  private route(): void {
    for (const [kind, slot] of this.slots) {
      slot.track.setSource(this.wants(kind) ? this.upTrackOf(kind) : undefined);
    }
  }

  private upTracksChanged(): void {
    if (this.closed) return;
    if (this.connected) this.route();
    if (this.missingTransceiver()) this.emit('negotiationneeded');
  }

  private onConnectionState(state: string): void {
    if (this.closed) return;
    if (state === 'connected') {
      if (!this.connected) {
        this.connected = true;
        this.route();
        this.srTimer = setInterval(() => this.sendSenderReports(), SR_INTERVAL_MS);
        this.srTimer.unref();
      }
    } else if (state === 'failed') {
      this.log.info('ICE failed');
      this.emit('failed');
    } else if (state === 'closed') {
      this.close('transport closed');
    }
  }

  /** Viewer RTCP: NACK, PLI, FIR, REMB and reception reports, routed by our SSRC. */
  private watchTransports(): void {
    for (const t of this.pc.getTransceivers()) {
      const dtls = t.dtlsTransport;
      if (!dtls || this.watched.has(dtls)) continue;
      this.watched.add(dtls);
      if (dtls.state === 'new') watchDtlsServer(dtls);
      const sub = dtls.onRtcp.subscribe((packet) => routeViewerRtcp(packet, this.bySsrc, (fb) => this.onTwccFeedback(fb)));
      this.unsubscribers.push(sub.unSubscribe);
    }
  }

  /** TWCC feedback: the delay estimate of the transport, less what audio takes, limits the video. */
  private onTwccFeedback(fb: TransportWideCC): void {
    if (!this.twcc) return;
    this.twccFeedback++;
    this.delay.update(this.twcc.samples(fb), performance.now());
    const video = this.slots.get('video')?.track;
    if (!video) return;
    const estimate = this.delay.estimate;
    const audio = this.slots.get('audio')?.track.sentBitrate(Date.now()) ?? 0;
    video.rateControl.onDelayEstimate(estimate === undefined ? undefined : Math.max(MIN_RATE, estimate - audio));
  }

  twccStats(): TwccStats {
    const s: TwccStats = { negotiated: this.twcc !== undefined, feedback: this.twccFeedback, overuses: this.delay.overuses };
    if (this.delay.estimate !== undefined) s.estimate = Math.round(this.delay.estimate);
    return s;
  }

  private sendSenderReports(): void {
    if (this.closed || !this.connected) return;
    const now = Date.now();
    this.adaptLayer(now);
    sendSenderReports(this.slots.values(), this.pc.cname, now);
  }

  /** Per-kind packet counters (for metrics and tests; never logged per packet). */
  counters(): Partial<Record<TrackKind, DownTrackCounters>> {
    const out: Partial<Record<TrackKind, DownTrackCounters>> = {};
    for (const [kind, { track }] of this.slots) out[kind] = { ...track.counters };
    return out;
  }

  /** Galène's `.stats` entry for this down stream. */
  stats(): ConnStats {
    const now = Date.now();
    return { id: this.id, tracks: [...this.slots.values()].map((s) => s.track.stats(now)) };
  }

  /** Idempotent. Detaches from the up tracks, closes the peer connection, emits 'close'. */
  close(reason = 'closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    if (this.srTimer) clearInterval(this.srTimer);
    this.up.off('close', this.onUpClose);
    this.up.off('track', this.onUpTrack);
    for (const u of this.unsubscribers.splice(0)) u();
    for (const { track } of this.slots.values()) track.close();
    this.pc.close().catch(() => undefined);
    this.log.debug(
      { reason, tracks: [...this.slots.values()].map(({ track }) => ({ id: track.id, ...track.counters })) },
      'down connection closed',
    );
    this.emit('close', reason);
  }
}

function parseRequest(request: readonly string[]): Set<StreamRequest> {
  const out = new Set<StreamRequest>();
  for (const r of Array.isArray(request) ? request : []) {
    if ((REQUESTS as readonly string[]).includes(r)) out.add(r as StreamRequest);
  }
  return out;
}

/**
 * werift's sender would also read the viewer's TWCC feedback (routed to it by SSRC) and compute its own
 * estimate from packets it sent itself, which here is none: wasted work per feedback message. Shadowed on
 * the instance (werift 0.24.4: `RTCRtpSender.senderBWE.receiveTWCC`).
 */
function ignoreWeriftTwcc(transceiver: RTCRtpTransceiver): void {
  const bwe = (transceiver.sender as unknown as { senderBWE?: { receiveTWCC?: unknown } }).senderBWE;
  if (bwe) bwe.receiveTWCC = () => undefined;
}

/** An msid stream id must be a token (no spaces). */
function streamId(id: string): string {
  const s = id.replace(/[^A-Za-z0-9+/=._-]/g, '');
  return s.length > 0 ? s : 'lectern';
}
