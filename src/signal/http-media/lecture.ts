import type { TrackKind, UpTrack } from '../../forward/types.js';

/** What a stream looks like to the lecture chooser (an UpConnection satisfies it). */
export interface LectureCandidate {
  readonly label: string;
  tracks(): readonly UpTrack[];
}

export interface Lecture {
  audio?: UpTrack;
  /** The main video: the first (best) video track of its stream. */
  video?: UpTrack;
  /** Every video track of the stream `video` comes from, best first (its simulcast layers; `video` leads). */
  videoLayers?: UpTrack[];
  /** The camera's video while the main video is a screen share (a second video section gets it). */
  inset?: UpTrack;
}

const firstOf = (s: LectureCandidate, kind: TrackKind): UpTrack | undefined => s.tracks().find((t) => t.kind === kind);

/**
 * The group's current lecture among its published streams (oldest first, as Group.streams keeps them):
 * video from the newest screen share, else the newest camera, else the newest stream with video (a WHIP
 * stream's label is ""); audio from the newest camera, else the stream the video comes from, else the newest
 * stream with audio. The newest wins so that a speaker who republishes is followed. While the video is a
 * screen share, the newest camera's video is the inset. `videoLayers` are the video's simulcast layers, among
 * which a viewer is moved by its rate; the inset is always its stream's first (best) layer.
 */
export function chooseLecture(streams: Iterable<LectureCandidate>): Lecture {
  const newestFirst = [...streams].reverse();
  const withKind = (kind: TrackKind, label?: string) =>
    newestFirst.find((s) => (label === undefined || s.label === label) && firstOf(s, kind));
  const videoStream = withKind('video', 'screenshare') ?? withKind('video', 'camera') ?? withKind('video');
  const audioStream =
    withKind('audio', 'camera') ?? (videoStream && firstOf(videoStream, 'audio') ? videoStream : undefined) ?? withKind('audio');
  const out: Lecture = {};
  const video = videoStream && firstOf(videoStream, 'video');
  const audio = audioStream && firstOf(audioStream, 'audio');
  if (videoStream && video) {
    out.video = video;
    out.videoLayers = videoStream.tracks().filter((t) => t.kind === 'video');
  }
  if (audio) out.audio = audio;
  const cameraStream = videoStream?.label === 'screenshare' ? withKind('video', 'camera') : undefined;
  const inset = cameraStream && firstOf(cameraStream, 'video');
  if (inset) out.inset = inset;
  return out;
}
