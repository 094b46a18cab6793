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
import { transceiverSink } from './directSend.js';
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
import { RtpDownTrack, type DownTrackCounters } from './RtpDownTrack.js';
import { finalizeOffer, looksLikeSdp } from './sdpText.js';
import { ignoreWeriftTwcc, ViewerRate, type TwccStats } from './ViewerRate.js';
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

/**
 * One viewer's connection to one published stream: the server offers sendonly audio/video (the codec the
 * publisher uses, Galène's fixed payload type, the transport-wide-cc header extension only) and, once
 * connected, attaches a RtpDownTrack per kind to the chosen up track ('video' = first simulcast layer,
 * 'video-low' = last). A viewer that accepts transport-wide-cc gets every packet numbered, and its feedback
 * drives a DelayEstimator whose estimate (less what audio takes) limits the video's layer choice, alongside
 * REMB and loss (ViewerRate, shared with WHEP viewers).
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
  /** TWCC numbering and feedback, the delay estimate, the video's simulcast and temporal layer choice. */
  private readonly rate: ViewerRate;
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
    this.rate = new ViewerRate(this.log);
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
    this.rate.negotiated(sdp);
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
      this.rate.resetLayer(this.pinnedLow() ? Math.max(0, n - 1) : 0, Date.now());
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
   * Every SR interval: the best simulcast layer this viewer can take now, and on the lowest layer its VP8
   * temporal layers (ViewerRate.adapt); a change starts a switch in the down track.
   */
  private adaptLayer(now: number): void {
    const slot = this.slots.get('video');
    if (!slot || !this.wants('video') || !slot.track.source) return;
    this.rate.adapt(slot.track, this.videoLayers(), this.pinnedLow(), now);
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
        sink: transceiverSink(transceiver, () => this.rate.twcc),
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
    return tracks[Math.min(this.rate.layer, tracks.length - 1)];
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
    this.rate.onTwccFeedback(fb, this.slots.get('video')?.track, this.slots.get('audio')?.track);
  }

  twccStats(): TwccStats {
    return this.rate.twccStats();
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

/** An msid stream id must be a token (no spaces). */
function streamId(id: string): string {
  const s = id.replace(/[^A-Za-z0-9+/=._-]/g, '');
  return s.length > 0 ? s : 'lectern';
}
