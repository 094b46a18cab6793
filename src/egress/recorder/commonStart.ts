/**
 * Where a recording starts so that its audio and video start together: at the first video keyframe that is
 * not before the first audio, with the audio from that instant on. What came before on either track (audio
 * before the keyframe; a first group of pictures before the audio) is trimmed, never padded: the file holds
 * only frames the publisher sent, at the times they were sent, and every player and the jobs' ffmpeg read
 * it as an ordinary file. With a browser the trim is short: the recorder asks for a keyframe at once.
 */

/** A queued frame as the decision sees it: its time on the stream's timeline (ms) and, for video, whether it is a keyframe. */
export interface StartFrame {
  timeMs: number;
  keyframe: boolean;
}

/** How far apart the first video and audio frames may be: a frame at 60 fps, under a frame at any common rate. */
export const START_TOLERANCE_MS = 1000 / 60;

export type StartCut =
  /** Drop the first `video` video and `audio` audio frames; the file's zero is `zeroMs` on the timeline. */
  | { video: number; audio: number; zeroMs: number }
  /** Not yet: the queued keyframes all come before the audio, or the audio has not reached the keyframe. */
  | { wait: 'keyframe' | 'audio' };

/**
 * The cut for a stream's first frames (each track's in its order; a video track's first frame is a
 * keyframe). `final` (the recording is ending, or waiting took too long): never wait; without a keyframe
 * after the audio's start the video keeps its first one and the audio starts where it does.
 */
export function commonStart(video: readonly StartFrame[], audio: readonly StartFrame[], final = false): StartCut {
  if (video.length === 0 || audio.length === 0) {
    const firsts = [video[0], audio[0]].filter((f) => f !== undefined).map((f) => f.timeMs);
    return { video: 0, audio: 0, zeroMs: firsts.length > 0 ? Math.min(...firsts) : 0 };
  }
  const audioStart = audio[0]!.timeMs;
  let key = video.findIndex((f) => f.keyframe && f.timeMs >= audioStart - START_TOLERANCE_MS);
  if (key < 0) {
    if (!final) return { wait: 'keyframe' };
    key = 0;
  }
  const keyMs = video[key]!.timeMs;
  let from = audio.findIndex((f) => f.timeMs >= keyMs - START_TOLERANCE_MS);
  if (from < 0) {
    if (!final) return { wait: 'audio' };
    from = audio.length; // the audio starts with its next frame
  }
  const audioMs = audio[from]?.timeMs ?? keyMs;
  return { video: key, audio: from, zeroMs: Math.min(keyMs, audioMs) };
}
