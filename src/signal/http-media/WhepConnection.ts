import { EventEmitter } from 'node:events';
import {
  MediaStream,
  RTCPeerConnection,
  useTransportWideCC,
  type RTCDtlsTransport,
  type RTCRtpTransceiver,
  type TransportWideCC,
} from 'werift';
import { errorMessage, LecternError } from '../../errors.js';
import { CODECS, type CodecName } from '../../forward/codecs.js';
import { transceiverSink } from '../../forward/directSend.js';
import {
  addCandidate,
  gatheringComplete,
  resumeIceAfterRestart,
  serverPeerConfig,
  watchDtlsClient,
  weriftCodec,
  type IceCandidateInit,
} from '../../forward/peerConfig.js';
import { routeViewerRtcp, sendSenderReports } from '../../forward/viewerRtcp.js';
import { RtpDownTrack, type DownTrackCounters } from '../../forward/RtpDownTrack.js';
import { finalizeOffer, looksLikeSdp, parseMline, splitSdp } from '../../forward/sdpText.js';
import type { IceOptions, TrackKind, UpTrack } from '../../forward/types.js';
import { ignoreWeriftTwcc, ViewerRate, type TwccStats } from '../../forward/ViewerRate.js';
import type { Logger } from '../../log.js';
import type { Lecture } from './lecture.js';

export interface WhepConnectionOptions {
  id: string;
  /** Codecs the viewer may be sent, preferred first (the lecture's current codecs lead). */
  codecs: readonly CodecName[];
  ice: IceOptions;
  log: Logger;
}

export interface WhepConnectionEvents {
  failed: [];
  close: [reason: string];
}

type SlotName = TrackKind | 'inset';

interface Slot {
  readonly transceiver: RTCRtpTransceiver;
  readonly track: RtpDownTrack;
  readonly codec: CodecName;
}

const SR_INTERVAL_MS = 500;

/**
 * A WHEP viewer's peer connection: unlike forward/DownConnection the client offers (recvonly audio/video) and
 * the server answers sendonly, one codec per kind, with the offer's payload types. Once connected, one
 * RtpDownTrack per section forwards whatever up tracks `setLecture` names (the first video section the main
 * video, a second one, if offered, the camera inset; the live HLS job offers it); switching sources renumbers seamlessly
 * (RtpDownTrack's SeqRewriter) and waits for a keyframe of the new source. A source whose codec differs from
 * the negotiated one is not forwarded (the viewer would need a new session).
 *
 * Congestion control is DownConnection's (ViewerRate): an offer with transport-wide-cc gets it accepted, every
 * packet numbered and its TWCC feedback read; the main video moves between the lecture's simulcast layers
 * (and VP8 temporal layers on the lowest one) by the viewer's rate. The inset stays on its first layer.
 */
export class WhepConnection extends EventEmitter<WhepConnectionEvents> {
  private readonly pc: RTCPeerConnection;
  private readonly log: Logger;
  /** By section: `video` (the first video section), `inset` (the second), `audio`. */
  private readonly slots = new Map<SlotName, Slot>();
  private readonly bySsrc = new Map<number, RtpDownTrack>();
  private readonly watched = new WeakSet<RTCDtlsTransport>();
  private readonly unsubscribers: (() => void)[] = [];
  private lecture: Lecture = {};
  /** TWCC numbering and feedback, the delay estimate, the main video's simulcast and temporal layer choice. */
  private readonly rate: ViewerRate;
  private connected = false;
  private srTimer: NodeJS.Timeout | undefined;
  private closedReason: string | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  /** Answers a viewer's offer. Throws LecternError 'bad-sdp' (nothing is left open then). */
  static async accept(opts: WhepConnectionOptions, offerSdp: string): Promise<{ conn: WhepConnection; answerSdp: string }> {
    if (!looksLikeSdp(offerSdp)) throw new LecternError('bad-sdp', 'the offer is not an SDP description');
    // The sections we send on, in the offer's order: at most one audio and two video (main, inset).
    const kinds: TrackKind[] = [];
    for (const m of splitSdp(offerSdp.replace(/^\s+/, '')).media) {
      const kind = parseMline(m.mline!)?.kind;
      if ((kind === 'audio' || kind === 'video') && kinds.filter((k) => k === kind).length < (kind === 'video' ? 2 : 1)) kinds.push(kind);
    }
    if (kinds.length === 0) throw new LecternError('bad-sdp', 'the offer has no audio or video section');
    const conn = new WhepConnection(opts, kinds);
    try {
      return { conn, answerSdp: await conn.negotiate(offerSdp, true) };
    } catch (e) {
      conn.close('negotiation failed');
      throw e instanceof LecternError ? e : new LecternError('bad-sdp', `cannot answer the offer: ${errorMessage(e)}`, { cause: e });
    }
  }

  private constructor(
    private readonly opts: WhepConnectionOptions,
    kinds: readonly TrackKind[],
  ) {
    super();
    this.log = opts.log;
    this.rate = new ViewerRate(opts.log);
    const specs = opts.codecs.map((n) => CODECS[n]);
    // One object for both kinds: werift numbers extensions by position, and a bundle needs one id per URI. An
    // answer keeps the offer's id, and only the extensions the offer has. (No `transport-cc` feedback to add to
    // our codecs: werift answers with the offer's codec entries, their feedback lines included.)
    const twcc = useTransportWideCC();
    this.pc = new RTCPeerConnection({
      ...serverPeerConfig(opts.ice),
      codecs: {
        audio: specs.filter((s) => s.kind === 'audio').map(weriftCodec),
        video: specs.filter((s) => s.kind === 'video').map(weriftCodec),
      },
      headerExtensions: { audio: [twcc], video: [twcc] },
    });
    // Sendonly transceivers made before the offer is applied take the offer's sections of their kind, in order.
    const stream = new MediaStream({ id: `lectern-${opts.id.slice(0, 16)}` });
    for (const kind of kinds) this.pc.addTransceiver(kind, { direction: 'sendonly', streams: [stream] });
    const sub = this.pc.connectionStateChange.subscribe((state) => this.onConnectionState(state));
    this.unsubscribers.push(sub.unSubscribe);
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /** The up tracks to forward from now on (a kind left out stops). */
  setLecture(lecture: Lecture): void {
    this.lecture = lecture;
    if (this.connected && !this.closed) this.route();
  }

  /** The index of the main video's layer this viewer is on or moving to (0 = best; -1 if none), for tests and stats. */
  get videoLayer(): number {
    const t = this.slots.get('video')?.track;
    const s = t?.pending ?? t?.source;
    return s ? this.videoLayers().indexOf(s) : -1;
  }

  twccStats(): TwccStats {
    return this.rate.twccStats();
  }

  /** Per-section packet counters (for tests; never logged per packet). */
  counters(): Partial<Record<SlotName, DownTrackCounters>> {
    const out: Partial<Record<SlotName, DownTrackCounters>> = {};
    for (const [name, { track }] of this.slots) out[name] = { ...track.counters };
    return out;
  }

  /** A new offer from the viewer (an ICE restart); resolves with the answer. */
  renegotiate(offerSdp: string): Promise<string> {
    const run = async (): Promise<string> => {
      if (this.closed) throw new LecternError('closed', 'the session is closed');
      if (!looksLikeSdp(offerSdp)) throw new LecternError('bad-sdp', 'the offer is not an SDP description');
      return this.negotiate(offerSdp, false);
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async addIceCandidate(c: IceCandidateInit): Promise<void> {
    if (this.closed) return;
    await addCandidate(this.pc, c);
  }

  private async negotiate(offerSdp: string, first: boolean): Promise<string> {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offerSdp });
    } catch (e) {
      throw new LecternError('bad-sdp', `cannot apply the offer: ${errorMessage(e)}`, { cause: e });
    }
    if (first) this.createSlots();
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await gatheringComplete(this.pc);
    if (this.pc.localDescription) this.rate.negotiated(this.pc.localDescription.sdp);
    resumeIceAfterRestart(this.pc, (err) => {
      this.log.info({ err: errorMessage(err) }, 'ICE failed after a restart');
      if (!this.closed) this.emit('failed');
    });
    this.watchTransports();
    const local = this.pc.localDescription;
    if (!local) throw new LecternError('bad-sdp', 'no local description');
    return finalizeOffer(local.sdp, this.opts.ice.publicAddresses); // ICE-lite at session level, as for our offers
  }

  /** One codec per section (the first negotiated in our preference order), and its DownTrack. */
  private createSlots(): void {
    for (const transceiver of this.pc.getTransceivers()) {
      const kind = transceiver.kind;
      if (transceiver.direction !== 'sendonly' || transceiver.mLineIndex === undefined) continue;
      if (kind !== 'audio' && kind !== 'video') continue;
      const slotName: SlotName = kind === 'video' && this.slots.has('video') ? 'inset' : kind;
      if (this.slots.has(slotName)) continue;
      let chosen: { name: CodecName; payloadType: number } | undefined;
      for (const name of this.opts.codecs) {
        const c = transceiver.codecs.find((x) => x.mimeType.toLowerCase() === CODECS[name].mimeType.toLowerCase());
        if (c && CODECS[name].kind === kind) {
          chosen = { name, payloadType: c.payloadType };
          transceiver.codecs = [c];
          break;
        }
      }
      if (!chosen) throw new LecternError('bad-sdp', `no acceptable ${kind} codec in the offer`);
      const sender = transceiver.sender;
      const track = new RtpDownTrack({
        id: `${this.opts.id}:${slotName}`,
        kind,
        ssrc: sender.ssrc,
        payloadType: chosen.payloadType,
        clockRate: CODECS[chosen.name].clockRate,
        sink: transceiverSink(transceiver, () => this.rate.twcc),
      });
      ignoreWeriftTwcc(transceiver);
      this.slots.set(slotName, { transceiver, track, codec: chosen.name });
      this.bySsrc.set(sender.ssrc, track);
    }
    if (this.slots.size === 0) throw new LecternError('bad-sdp', 'the offer asks for no audio or video we can send');
  }

  /** The main video's simulcast layers, best first (just `video` if the lecture does not list them). */
  private videoLayers(): UpTrack[] {
    const v = this.lecture.video;
    if (!v) return [];
    const layers = this.lecture.videoLayers ?? [];
    return layers.includes(v) ? layers : [v];
  }

  /**
   * What a section forwards: for the main video the layer chosen by rate (the first one at start; a new lecture
   * starts on the layer the viewer is on).
   */
  private upTrackOf(slot: SlotName): UpTrack | undefined {
    if (slot !== 'video') return this.lecture[slot];
    const layers = this.videoLayers();
    return layers[Math.min(this.rate.layer, layers.length - 1)];
  }

  private route(): void {
    for (const [kind, slot] of this.slots) {
      const up = this.upTrackOf(kind);
      if (up && up.codec.name !== slot.codec) {
        this.log.info({ kind, codec: up.codec.name, negotiated: slot.codec }, 'lecture codec differs from the negotiated one');
        slot.track.setSource(undefined);
        continue;
      }
      slot.track.setSource(up);
    }
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
      this.emit('failed');
    } else if (state === 'closed') {
      this.close('transport closed');
    }
  }

  private watchTransports(): void {
    for (const t of this.pc.getTransceivers()) {
      const dtls = t.dtlsTransport;
      if (!dtls || this.watched.has(dtls)) continue;
      this.watched.add(dtls);
      watchDtlsClient(dtls);
      const sub = dtls.onRtcp.subscribe((packet) => routeViewerRtcp(packet, this.bySsrc, (fb) => this.onTwccFeedback(fb)));
      this.unsubscribers.push(sub.unSubscribe);
    }
  }

  /** TWCC feedback: the delay estimate of the transport, less what audio and the inset take, limits the main video. */
  private onTwccFeedback(fb: TransportWideCC): void {
    this.rate.onTwccFeedback(fb, this.slots.get('video')?.track, this.slots.get('audio')?.track, this.slots.get('inset')?.track);
  }

  private sendSenderReports(): void {
    if (this.closed) return;
    const now = Date.now();
    const video = this.slots.get('video')?.track;
    if (video?.source) this.rate.adapt(video, this.videoLayers(), false, now);
    sendSenderReports(this.slots.values(), this.pc.cname, now);
  }

  /** Idempotent: detaches from the up tracks, closes the peer connection, emits 'close'. */
  close(reason = 'closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    if (this.srTimer) clearInterval(this.srTimer);
    for (const u of this.unsubscribers.splice(0)) u();
    for (const { track } of this.slots.values()) track.close();
    this.pc.close().catch(() => undefined);
    this.emit('close', reason);
  }
}
