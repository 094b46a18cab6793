/** Job names and payloads of the egress pipeline. All paths are relative to the recordings folder. */

export const EGRESS_JOBS = ['finalize', 'composite', 'hls-vod', 'thumbnail'] as const;
export type EgressJobName = (typeof EGRESS_JOBS)[number];

/** The files of one finished recording (one lecture), relative to the recordings folder. */
export interface RecordingFiles {
  /** Screen-share recording: shown large in the composite. */
  screen?: string;
  /** Speaker camera recording: inset (or full frame when there is no screen). */
  camera?: string;
  /** Where the audio comes from (default: the camera file, else the screen file, when it has audio). */
  audio?: string;
  /** Base path of the outputs without extension (default: the camera's, else the screen's, else the audio's). */
  base?: string;
}

/** finalize: remux every file of the recording in place; then enqueues composite and thumbnail. */
export interface FinalizeData {
  recording: RecordingFiles;
}
/** composite: `<base>.mp4`; then enqueues hls-vod. */
export interface CompositeData {
  recording: RecordingFiles;
}
/** hls-vod: `<base>.hls/index.m3u8` from the composite MP4. */
export interface HlsVodData {
  input: string;
  dir: string;
}
/** thumbnail: a JPEG from `input`. */
export interface ThumbnailData {
  input: string;
  output: string;
  atSeconds?: number;
}

export interface FinalizeResult {
  files: string[];
}
export interface OutputResult {
  output: string;
}
