/**
 * The centre of the forwarding core. Ingest produces UpTracks (one per received stream, or per simulcast
 * layer); whatever consumes media — a viewer's down connection, later a recorder or a relay — is a DownTrack
 * attached to an UpTrack. Nothing here depends on a peer connection, so both sides can be tested with fakes.
 */
import type { RtpPacket } from 'werift';
import type { CodecName } from './codecs.js';

export type TrackKind = 'audio' | 'video';

/** What a viewer asks for in Galène's `request`/`requestStream`. */
export type StreamRequest = 'audio' | 'video' | 'video-low';

/**
 * ICE settings of server peer connections. The server is always ICE-lite with no ICE servers (it never
 * contacts a STUN server). `hostAddresses` set => only those addresses are gathered (tests pass
 * ['127.0.0.1']); `portRange` bounds the UDP ports (min < max).
 */
export interface IceOptions {
  portRange?: [number, number];
  hostAddresses?: string[];
  /** NAT 1:1: addresses announced in the host candidates instead of the local ones (same port). */
  publicAddresses?: string[];
}

/** A codec as negotiated with a publisher: one of ours by name, with the publisher's payload type. */
export interface RtpCodec {
  readonly name: CodecName;
  readonly kind: TrackKind;
  readonly mimeType: string;
  readonly clockRate: number;
  readonly channels?: number;
  /** The payload type the publisher uses (down connections use Galène's fixed ones). */
  readonly payloadType: number;
  readonly fmtp?: string;
}

/** Per-track statistics in the shape of Galène's `.stats` (bitrates in bit/s, loss a fraction, times in ms). */
export interface TrackStats {
  bitrate: number;
  maxBitrate?: number;
  loss: number;
  rtt?: number;
  jitter?: number;
}

/** Per-connection statistics in the shape of Galène's `.stats` `up`/`down` entries. */
export interface ConnStats {
  id: string;
  maxBitrate?: number;
  tracks: TrackStats[];
}

/** What a late joiner is sent at once: the cached last keyframe, and what followed it if that is recent. */
export interface Replay {
  readonly packets: readonly RtpPacket[];
  /** True if the packets reach the live edge (the next live packet follows the last one). */
  readonly complete: boolean;
  /** The upstream sequence number the next live packet will carry. */
  readonly nextSeq: number;
}

/** One received stream of RTP (a track, or one simulcast layer of a track). */
export interface UpTrack {
  readonly id: string;
  readonly kind: TrackKind;
  /** The stream's label (camera, screenshare, video, ''), passed through. */
  readonly label: string;
  /** The simulcast layer (rid), undefined when the track is not simulcast. */
  readonly rid: string | undefined;
  readonly codec: RtpCodec;
  /** Start fanning packets out to `down` (from the next packet on); idempotent. */
  addDown(down: DownTrack): void;
  removeDown(down: DownTrack): void;
  /** A packet from the cache, for retransmission. Never mutate it. */
  getPacket(seq: number): RtpPacket | undefined;
  /** The packets a new DownTrack should be sent at once (empty for audio or before the first keyframe). */
  replay(): Replay;
  /** Ask the publisher for a keyframe (one PLI per 500 ms at most). */
  requestKeyframe(): void;
  /** Ask the publisher to retransmit packets that are not in the cache. */
  nack(seqs: readonly number[]): void;
  /** The RTP timestamp that corresponds to local wall-clock time `nowMs`, for sender reports. */
  rtpTimeAt(nowMs: number): number | undefined;
  /** The publisher's last sender report (for lip sync between tracks), undefined before the first. */
  senderClock(): SenderClock | undefined;
  /** The measured bitrate (bit/s, about the last second): what a simulcast layer costs a viewer. */
  bitrate(nowMs: number): number;
  /**
   * VP8 temporal layers: element t is the bitrate of TIDs 0..t (bit/s); empty when the packets carry no TID.
   */
  temporalBitrates?(nowMs: number): number[];
}

/** A sender report: RTP time `rtpTimestamp` was NTP time `ntpMs` on the publisher's clock; we got it at `receivedAtMs`. */
export interface SenderClock {
  readonly rtpTimestamp: number;
  readonly ntpMs: number;
  readonly receivedAtMs: number;
}

/**
 * What a down connection needs of the up stream it forwards: its tracks (simulcast layers in order, best
 * first) and two events, 'track' (a track got its first packet) and 'close'. An ingest UpConnection, or its
 * mirror in a forwarding thread (forward/threads/).
 */
export interface UpSource {
  readonly closed: boolean;
  tracks(): UpTrack[];
  on(event: 'track' | 'close', listener: () => void): unknown;
  off(event: 'track' | 'close', listener: () => void): unknown;
}

/** A consumer of one UpTrack's packets. */
export interface DownTrack {
  readonly id: string;
  /**
   * Hot path: called once per new packet received by the UpTrack, in arrival order. Must not mutate the
   * packet. `keyframe` is true on the packet that starts a keyframe (detected once, for every DownTrack).
   */
  write(packet: RtpPacket, keyframe: boolean): void;
  /** The receiver's advertised maximum bitrate (REMB), bit/s, if known. */
  maxBitrate(): number | undefined;
}
