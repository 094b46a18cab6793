/**
 * Messages between the main thread and a forwarding thread (forward/threads/). The main thread keeps the
 * signalling, the publishers' connections and their up tracks; a forwarding thread owns the viewers' peer
 * connections (DownConnection) and a mirror of each up track they watch, fed with the publisher's packets
 * once per thread.
 */
import type { PacketGuardCounts } from '../guard/packetGuards.js';
import type { ConnStats, IceOptions, RtpCodec, SenderClock, TrackKind } from '../types.js';
import type { DownTrackCounters } from '../RtpDownTrack.js';

/** An up track as a forwarding thread mirrors it. */
export interface TrackMeta {
  id: string;
  kind: TrackKind;
  label: string;
  rid: string | undefined;
  codec: RtpCodec;
}

export interface WorkerConfig {
  ice: IceOptions;
  logLevel: string;
  /** Index of this thread, for logs. */
  index: number;
}

/** Calls from the main thread that expect a reply (`call` is echoed back). */
export type Call =
  | { op: 'create'; call: number; down: number; up: string; id: string; clientId: string; request: string[] }
  | { op: 'offer'; call: number; down: number; iceRestart: boolean }
  | { op: 'answer'; call: number; down: number; sdp: string }
  | { op: 'ice'; call: number; down: number; candidate: unknown };

/** Messages from the main thread that expect no reply. */
export type Notice =
  /** The up stream's tracks, all of them, each time one is added. */
  | { op: 'tracks'; up: string; tracks: TrackMeta[] }
  /** Packets of up tracks in arrival order: packet i is `lengths[i]` bytes of `data`, of track `tracks[i]`. */
  | { op: 'rtp'; tracks: string[]; lengths: number[]; data: ArrayBuffer }
  | { op: 'clock'; track: string; clock: SenderClock }
  /** The up stream closed, or nobody on this thread watches it any more: drop its mirror. */
  | { op: 'drop-up'; up: string }
  | { op: 'request'; down: number; request: string[] }
  | { op: 'close'; down: number; reason: string };

export type ToWorker = Call | Notice;

export type FromWorker =
  | { op: 'reply'; call: number; value?: unknown; error?: { code: string; message: string } }
  | { op: 'event'; down: number; event: 'failed' | 'negotiationneeded' }
  | { op: 'closed'; down: number; reason: string }
  /**
   * Every second: each live down connection's stats and counters, each mirrored track's viewer limit, and the
   * thread's packet guard counters.
   */
  | {
      op: 'report';
      downs: { down: number; stats: ConnStats; counters: Partial<Record<TrackKind, DownTrackCounters>> }[];
      limits: { track: string; maxBitrate: number | undefined }[];
      guards: PacketGuardCounts;
    }
  | { op: 'keyframe'; track: string }
  | { op: 'nack'; track: string; seqs: number[] };
