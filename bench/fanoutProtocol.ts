/** Messages between bench/fanout.ts (the driver) and bench/viewerWorker.ts over the fork IPC channel. */

/**
 * How a viewer handles what it receives:
 * - 'werift': werift's whole receive path (SRTP decryption, RTP parsing, the receiver with its NACK and
 *   reception reports), as a werift client would; packets are counted where the transport emits them.
 * - 'count': SRTP packets are counted from their (cleartext) RTP header and not decrypted, RTCP is still
 *   decrypted and handled. Cheaper for the viewer processes, which share the CPU with the server.
 */
export type ViewerMode = 'werift' | 'count';

/**
 * Which viewers: 'stock' (bench/stockViewer.ts: plain werift 0.24.4 peers with default settings, as a third
 * party writes them) or 'lean' (bench/leanViewer.ts: patched, cheap viewers, `mode` says how they receive).
 */
export type ViewerKind = 'stock' | 'lean';

export interface InitCommand {
  cmd: 'init';
  url: string;
  group: string;
  /** Default 'lean' (bench/burst.ts and test/helpers/burstRig.ts use lean viewers). */
  viewer?: ViewerKind;
  mode: ViewerMode;
  /** Watch this Janus streaming mountpoint instead of joining a Lectern group (stock viewers only). */
  janus?: { url: string; mountpoint: number };
  /** Give up on a viewer that has no video this long after its join was sent. */
  joinTimeoutMs: number;
}

/** Creates these viewers and opens their WebSockets (protocol handshake done), without joining yet. */
export interface OpenCommand {
  cmd: 'open';
  indices: number[];
}

export interface JoinCommand {
  cmd: 'join';
  /** Viewer indices (global, used in the usernames) to join now, all at once. */
  indices: number[];
}

/**
 * Counts, over every viewer of the process, the distinct packets whose sequence number is in (from, to] of
 * each kind: the publisher's sequence numbers, which the server passes through unchanged (SeqRewriter keeps
 * offset 0 for a viewer's first source, replayed keyframe included).
 */
export interface CountCommand {
  cmd: 'count';
  video?: SeqRange;
  audio?: SeqRange;
  /**
   * Janus viewers (whose sequence numbers Janus rewrites): count instead the packets that arrived in this
   * time window (epoch ms), and the sequence-number span they cover (`videoExpected`, `audioExpected`).
   */
  window?: [t0: number, t1: number];
}

/** 16-bit sequence numbers, `from` exclusive, `to` inclusive, wrapping; at most 32767 apart. */
export type SeqRange = [from: number, to: number];

export interface StopCommand {
  cmd: 'stop';
}

export type WorkerCommandBody = InitCommand | OpenCommand | JoinCommand | CountCommand | StopCommand;
export type WorkerCommand = WorkerCommandBody & { seq: number };

/** Milliseconds from sending `join` to each milestone (undefined if never reached). */
export interface JoinTiming {
  index: number;
  ok: boolean;
  error?: string;
  /** performance.timeOrigin + performance.now() when `join` was sent (after the WebSocket handshake). */
  joinSentAt?: number;
  joinedMs?: number;
  offerMs?: number;
  answerSentMs?: number;
  connectedMs?: number;
  firstPacketMs?: number;
  firstVideoMs?: number;
}

export interface Counts {
  viewers: number;
  /** Viewers whose join succeeded (the others have left). */
  joined: number;
  /** Viewers whose peer connection is connected now. */
  connected: number;
  /** Distinct packets in the requested ranges, summed over viewers. */
  videoInRange: number;
  audioInRange: number;
  /**
   * For each sequence number of the requested ranges, in order, how many joined viewers got it: a packet
   * no viewer got was lost upstream (or dropped for everyone by the server), not on its way to one viewer.
   */
  videoHits: number[];
  audioHits: number[];
  /** Joined viewers that got nothing in the requested video range. */
  viewersWithoutVideo: number;
  /** With `window`: the sequence-number spans of the window's packets, summed over viewers. */
  videoExpected?: number;
  audioExpected?: number;
  /** Everything received so far (duplicates included), and how many were duplicates. */
  packets: number;
  duplicates: number;
  /** performance.timeOrigin + performance.now() when taken. */
  at: number;
}

export type WorkerReply =
  | { seq: number; type: 'ok' }
  | { seq: number; type: 'joined'; timings: JoinTiming[] }
  | { seq: number; type: 'count'; counts: Counts }
  | { seq: number; type: 'error'; error: string };
