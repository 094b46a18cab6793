import { describe, expect, it } from 'vitest';
import type { UpTrack } from '../../forward/types.js';
import { chooseLecture, type LectureCandidate } from './lecture.js';

function stream(name: string, label: string, kinds: ('audio' | 'video')[]): LectureCandidate {
  const tracks = kinds.map((kind) => ({ id: `${name}:${kind}`, kind }) as unknown as UpTrack);
  return { label, tracks: () => tracks };
}

const ids = (streams: LectureCandidate[]) => {
  const l = chooseLecture(streams);
  return { video: l.video?.id, audio: l.audio?.id, inset: l.inset?.id };
};

describe('chooseLecture', () => {
  it.each([
    ['nothing published', [], { video: undefined, audio: undefined, inset: undefined }],
    ['a camera alone', [stream('cam', 'camera', ['audio', 'video'])], { video: 'cam:video', audio: 'cam:audio', inset: undefined }],
    [
      'a screen share wins the video, the camera keeps the audio',
      [stream('cam', 'camera', ['audio', 'video']), stream('scr', 'screenshare', ['video'])],
      { video: 'scr:video', audio: 'cam:audio', inset: 'cam:video' },
    ],
    ['a WHIP stream (label "")', [stream('whip', '', ['video', 'audio'])], { video: 'whip:video', audio: 'whip:audio', inset: undefined }],
    [
      'the newest camera is followed',
      [stream('old', 'camera', ['audio', 'video']), stream('new', 'camera', ['audio', 'video'])],
      { video: 'new:video', audio: 'new:audio', inset: undefined },
    ],
    [
      'a screen share with its own audio and no camera',
      [stream('scr', 'screenshare', ['video', 'audio']), stream('mic', 'video', ['audio'])],
      { video: 'scr:video', audio: 'scr:audio', inset: undefined },
    ],
    [
      'a screen share and an audio-only camera: no inset',
      [stream('cam', 'camera', ['audio']), stream('scr', 'screenshare', ['video'])],
      { video: 'scr:video', audio: 'cam:audio', inset: undefined },
    ],
    ['audio only', [stream('mic', 'camera', ['audio'])], { video: undefined, audio: 'mic:audio', inset: undefined }],
  ])('%s', (_name, streams, want) => {
    expect(ids(streams)).toEqual(want);
  });
});
