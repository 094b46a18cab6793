/** The live-hls job: its name, payload and result. */

export const LIVE_HLS_JOB = 'live-hls';

/** What the server puts in a live-hls job (JSON; it travels through Redis with BullMQ). */
export interface LiveHlsData {
  group: string;
  /** The group's WHEP endpoint on the server, e.g. `https://lectern.example/group/physics/.whep`. */
  whepUrl: string;
  /** A stateful token the server minted for this job (observe only, expires); sent as the WHEP Bearer. */
  token: string;
  /** Output folder relative to the recordings folder, e.g. `physics/.live`. */
  dir: string;
}

export interface LiveHlsResult {
  /** Segments written over the whole job. */
  segments: number;
  /** ffmpeg runs (1 + restarts). */
  runs: number;
  /** Why it ended: no media for a while, the server closed the session, or the job was aborted. */
  reason: string;
}

/** The folder of a group's live HLS output, relative to the recordings folder. */
export function liveDir(group: string): string {
  return `${group}/.live`;
}
