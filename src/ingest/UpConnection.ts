import { EventEmitter } from 'node:events';
import {
  GenericNack,
  PictureLossIndication,
  ReceiverEstimatedMaxBitrate,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  useRepairedRtpStreamId,
  useSdesMid,
  useSdesRTPStreamId,
  type MediaStreamTrack,
  type RtcpPacket,
  type RTCDtlsTransport,
  type RTCRtpReceiver,
  type RTCRtpTransceiver,
} from 'werift';
import { errorMessage, LecternError } from '../errors.js';
import { CODECS, knownCodecs, type CodecName } from '../forward/codecs.js';
import {
  addCandidate,
  gatheringComplete,
  resumeIceAfterRestart,
  serverPeerConfig,
  type IceCandidateInit,
  watchDtlsClient,
  weriftCodec,
} from '../forward/peerConfig.js';
import { rembFields } from '../forward/rtcp.js';
import { MAX_BITRATE, upstreamRate } from '../forward/upstreamRate.js';
import { finalizeAnswer } from '../forward/sdpText.js';
import type { ConnStats, IceOptions, UpTrack } from '../forward/types.js';
import type { Logger } from '../log.js';
import { sanitizeOffer, type SanitizedOffer } from './offer.js';
import { RtpUpTrack, type UpstreamFeedback, type UpTrackCounters } from './RtpUpTrack.js';

export interface UpConnectionOptions {
  /** The stream id the client chose (Galène: 32 hex digits); down connections are offered under it. */
  id: string;
  label: string;
  clientId: string;
  username: string;
  /** The group's codecs, e.g. ['vp8', 'opus']; unknown names are ignored. */
  codecs: readonly string[];
  ice: IceOptions;
  log: Logger;
}

export interface UpConnectionEvents {
  /** Once per UpTrack, when its first packet arrives (as pion's OnTrack, which Galène relies on). */
  track: [track: UpTrack];
  /** ICE failed: the signalling layer should ask the client to renegotiate (restart ICE). */
  failed: [];
  /** The connection is closed; every down connection of this stream closes too. */
  close: [reason: string];
}

/** Chrome starts its encoder at this rate (kbit/s) instead of ramping up from 300 kbit/s. */
export const START_BITRATE_KBPS = 1500;
const REPORT_INTERVAL_MS = 1000;

/**
 * One published stream: a werift peer connection that receives whatever the client offers (Galène's one
 * PeerConnection per one-way stream), with an RtpUpTrack per received track or simulcast layer.
 *
 * RTCP towards the publisher: werift's receivers send receiver reports; this class sends a REMB every second,
 * PLIs and NACKs. werift's own NACK generator is disabled (see `disableWeriftNack`).
 */
export class UpConnection extends EventEmitter<UpConnectionEvents> {
  readonly id: string;
  readonly label: string;
  readonly clientId: string;
  readonly username: string;
  private readonly log: Logger;
  private readonly codecs: CodecName[];
  private readonly pc: RTCPeerConnection;
  private readonly upTracks: RtpUpTrack[] = [];
  /** mid -> rid ('' when not simulcast) -> track */
  private readonly byMid = new Map<string, Map<string, RtpUpTrack>>();
  private readonly rembCapable = new WeakSet<RtpUpTrack>();
  private readonly transceiverOf = new Map<RtpUpTrack, RTCRtpTransceiver>();
  private readonly bound = new WeakSet<MediaStreamTrack>();
  private readonly watched = new WeakSet<RTCDtlsTransport>();
  private readonly unsubscribers: (() => void)[] = [];
  private readonly timer: NodeJS.Timeout;
  private queue: Promise<unknown> = Promise.resolve();
  private closedReason: string | undefined;
  private lastRemb: number | undefined;
  private rtcpErrors = 0;

  /**
   * Accepts a publisher's offer. Throws LecternError 'bad-sdp' on garbage SDP or when no acceptable codec is
   * offered; nothing is left open then.
   */
  static async accept(opts: UpConnectionOptions, offerSdp: string): Promise<{ conn: UpConnection; answerSdp: string }> {
    const codecs = knownCodecs(opts.codecs);
    const offer = sanitizeOffer(offerSdp, codecs);
    const conn = new UpConnection(opts, codecs);
    try {
      const answerSdp = await conn.negotiate(offer);
      return { conn, answerSdp };
    } catch (e) {
      conn.close('negotiation failed');
      throw e instanceof LecternError ? e : new LecternError('bad-sdp', `cannot answer the offer: ${errorMessage(e)}`, { cause: e });
    }
  }

  /** NAT 1:1: announced in our candidates instead of the local addresses. */
  private readonly publicAddresses: readonly string[];

  private constructor(opts: UpConnectionOptions, codecs: CodecName[]) {
    super();
    this.publicAddresses = opts.ice.publicAddresses ?? [];
    this.setMaxListeners(0); // one 'close' listener per down connection
    this.id = opts.id;
    this.label = opts.label;
    this.clientId = opts.clientId;
    this.username = opts.username;
    this.codecs = codecs;
    this.log = opts.log.child({ up: opts.id, client: opts.clientId });
    const specs = codecs.map((n) => CODECS[n]);
    this.pc = new RTCPeerConnection({
      ...serverPeerConfig(opts.ice),
      codecs: {
        audio: specs.filter((s) => s.kind === 'audio').map(weriftCodec),
        video: specs.filter((s) => s.kind === 'video').map(weriftCodec),
      },
      headerExtensions: {
        audio: [useSdesMid()],
        video: [useSdesMid(), useSdesRTPStreamId(), useRepairedRtpStreamId()],
      },
    });
    const sub = this.pc.connectionStateChange.subscribe((state) => {
      if (state === 'failed') {
        this.log.info('ICE failed');
        this.emit('failed');
      } else if (state === 'closed') {
        this.close('transport closed');
      }
    });
    this.unsubscribers.push(sub.unSubscribe);
    this.timer = setInterval(() => this.sendReports(), REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  get closed(): boolean {
    return this.closedReason !== undefined;
  }

  /**
   * The tracks known so far, from the negotiated SDP (simulcast layers in the order the publisher offered
   * them), whether or not media has arrived yet.
   */
  tracks(): UpTrack[] {
    return [...this.upTracks];
  }

  /** A new offer for this stream (the client renegotiates with the same id, e.g. to restart ICE). */
  renegotiate(offerSdp: string): Promise<string> {
    const run = async (): Promise<string> => {
      if (this.closed) throw new LecternError('closed', 'the stream is closed');
      const offer = sanitizeOffer(offerSdp, this.codecs);
      try {
        return await this.negotiate(offer);
      } catch (e) {
        throw e instanceof LecternError ? e : new LecternError('bad-sdp', `cannot answer the offer: ${errorMessage(e)}`, { cause: e });
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  async addIceCandidate(c: IceCandidateInit): Promise<void> {
    if (this.closed) return;
    await addCandidate(this.pc, c);
  }

  private async negotiate(offer: SanitizedOffer): Promise<string> {
    try {
      await this.pc.setRemoteDescription({ type: 'offer', sdp: offer.sdp });
    } catch (e) {
      throw new LecternError('bad-sdp', `cannot apply the offer: ${errorMessage(e)}`, { cause: e });
    }
    const added = this.bindTracks(offer);
    const answer = await this.pc.createAnswer();
    await this.pc.setLocalDescription(answer);
    await gatheringComplete(this.pc);
    resumeIceAfterRestart(this.pc, (err) => {
      this.log.info({ err: errorMessage(err) }, 'ICE failed after a restart');
      if (!this.closed) this.emit('failed');
    });
    this.watchTransports();
    const local = this.pc.localDescription;
    if (!local) throw new LecternError('bad-sdp', 'no local description');
    this.log.debug({ tracks: added.map((t) => t.id) }, 'negotiated');
    return finalizeAnswer(local.sdp, START_BITRATE_KBPS, this.publicAddresses);
  }

  /** Creates the RtpUpTracks for new transceivers/layers and routes werift's remote tracks into them. */
  private bindTracks(offer: SanitizedOffer): RtpUpTrack[] {
    const added: RtpUpTrack[] = [];
    for (const t of this.pc.getTransceivers()) {
      if (t.mLineIndex === undefined) continue;
      const media = offer.media[t.mLineIndex];
      if (!media?.codec || media.port === 0) continue;
      const mid = t.mid ?? String(t.mLineIndex);
      let layers = this.byMid.get(mid);
      if (!layers) {
        layers = new Map();
        this.byMid.set(mid, layers);
        disableWeriftNack(t.receiver);
      }
      const feedback = this.feedbackFor(t);
      const remb = t.codecs[0]?.rtcpFeedback.some((f) => f.type === 'goog-remb') ?? false;
      for (const rid of media.rids.length > 0 ? media.rids : ['']) {
        if (layers.has(rid)) continue;
        const track = new RtpUpTrack({
          id: rid ? `${this.id}:${mid}:${rid}` : `${this.id}:${mid}`,
          kind: media.codec.kind,
          label: this.label,
          rid: rid || undefined,
          codec: media.codec,
          feedback,
          onFirstPacket: (t) => {
            if (!this.closed) this.emit('track', t);
          },
        });
        if (remb) this.rembCapable.add(track);
        this.transceiverOf.set(track, t);
        layers.set(rid, track);
        this.upTracks.push(track);
        added.push(track);
      }
      for (const wt of t.receiver.tracks) {
        if (this.bound.has(wt)) continue;
        this.bound.add(wt);
        const target = layers.get(wt.rid ?? '') ?? layers.values().next().value;
        if (!target) continue;
        const sub = wt.onReceiveRtp.subscribe((packet) => target.push(packet));
        this.unsubscribers.push(sub.unSubscribe);
      }
    }
    return added;
  }

  private feedbackFor(t: RTCRtpTransceiver): UpstreamFeedback {
    return {
      sendNack: (mediaSsrc, seqs) =>
        this.sendRtcp(t, [
          new RtcpTransportLayerFeedback({
            feedback: new GenericNack({ senderSsrc: t.receiver.rtcpSsrc, mediaSourceSsrc: mediaSsrc, lost: seqs }),
          }),
        ]),
      sendPli: (mediaSsrc) =>
        this.sendRtcp(t, [
          new RtcpPayloadSpecificFeedback({
            feedback: new PictureLossIndication({ senderSsrc: t.receiver.rtcpSsrc, mediaSsrc }),
          }),
        ]),
    };
  }

  private sendRtcp(t: RTCRtpTransceiver, packets: RtcpPacket[]): void {
    const dtls = t.dtlsTransport;
    if (this.closed || !dtls || dtls.state !== 'connected') return;
    dtls.sendRtcp(packets).catch(() => {
      this.rtcpErrors++;
    });
  }

  /** The publisher's sender reports give each up track its RTP clock (for our SRs to viewers). */
  private watchTransports(): void {
    for (const t of this.pc.getTransceivers()) {
      const dtls = t.dtlsTransport;
      if (!dtls || this.watched.has(dtls)) continue;
      this.watched.add(dtls);
      watchDtlsClient(dtls);
      const sub = dtls.onRtcp.subscribe((packet) => {
        if (packet.type !== RtcpSrPacket.type) return;
        const sr = packet as RtcpSrPacket;
        for (const track of this.upTracks) {
          if (track.ssrc === sr.ssrc) track.onSenderReport(sr.senderInfo.rtpTimestamp, sr.senderInfo.ntpTimestamp);
        }
      });
      this.unsubscribers.push(sub.unSubscribe);
    }
  }

  /** Every second: adapt NACK timing, and send the publisher a REMB for each transport. */
  private sendReports(): void {
    if (this.closed) return;
    const now = Date.now();
    const byTransceiver = new Map<RTCRtpTransceiver, { ssrcs: number[]; rate: number }>();
    for (const track of this.upTracks) {
      track.tick(now);
      const ssrc = track.ssrc;
      const t = this.transceiverOf.get(track);
      if (ssrc === undefined || !t || !this.rembCapable.has(track)) continue;
      const rate = upstreamRate(track.kind, track.rid, track.kind === 'video' ? track.downstreamMaxBitrate() : undefined);
      const entry = byTransceiver.get(t) ?? { ssrcs: [], rate: 0 };
      entry.ssrcs.push(ssrc);
      entry.rate += rate;
      byTransceiver.set(t, entry);
    }
    let total = 0;
    for (const [t, { ssrcs, rate }] of byTransceiver) {
      const capped = Math.min(rate, MAX_BITRATE);
      total += capped;
      const { brExp, brMantissa } = rembFields(capped);
      this.sendRtcp(t, [
        new RtcpPayloadSpecificFeedback({
          feedback: new ReceiverEstimatedMaxBitrate({
            senderSsrc: t.receiver.rtcpSsrc,
            mediaSsrc: 0,
            ssrcNum: ssrcs.length,
            ssrcFeedbacks: ssrcs,
            brExp,
            brMantissa,
            bitrate: BigInt(brMantissa) << BigInt(brExp),
          }),
        }),
      ]);
    }
    this.lastRemb = byTransceiver.size > 0 ? total : undefined;
  }

  /** Per-track packet counters, by track id (for metrics and tests; never logged per packet). */
  counters(): Record<string, UpTrackCounters> {
    const out: Record<string, UpTrackCounters> = {};
    for (const t of this.upTracks) out[t.id] = { ...t.counters };
    return out;
  }

  /** Galène's `.stats` entry for this stream. */
  stats(): ConnStats {
    const now = Date.now();
    const s: ConnStats = { id: this.id, tracks: this.upTracks.map((t) => t.stats(now)) };
    if (this.lastRemb !== undefined) s.maxBitrate = this.lastRemb;
    return s;
  }

  /** Closes the peer connection and, through the 'close' event, every down connection of this stream. */
  close(reason = 'closed'): void {
    if (this.closedReason !== undefined) return;
    this.closedReason = reason;
    clearInterval(this.timer);
    for (const u of this.unsubscribers.splice(0)) u();
    for (const t of this.upTracks) t.close();
    this.pc.close().catch(() => undefined);
    this.log.debug(
      { reason, rtcpErrors: this.rtcpErrors, tracks: this.upTracks.map((t) => ({ id: t.id, ...t.counters })) },
      'up connection closed',
    );
    this.emit('close', reason);
  }
}

/**
 * werift's receiver NACKs every gap at once, every 5 ms, and loses track at the sequence-number wrap; the
 * RtpUpTrack's NackGenerator replaces it. werift consults `nackEnabled` per packet, so shadowing the getter on
 * the instance turns it off.
 */
function disableWeriftNack(receiver: RTCRtpReceiver): void {
  Object.defineProperty(receiver, 'nackEnabled', { configurable: true, get: () => undefined });
}
