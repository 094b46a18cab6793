import { describe, expect, it } from 'vitest';
import type { UpTrack } from '../../forward/types.js';
import { chooseLecture, type LectureCandidate } from './lecture.js';

function stream(name: string, label: string, kinds: ('audio' | 'video')[]): LectureCandidate {
  const tracks = kinds.map((kind) => ({ id: `${name}:${kind}`, kind }) as unknown as UpTrack);
  return { label, tracks: () => tracks };
}

const ids = (streams: LectureCandidate[]) => {
  const l = chooseLecture(streams);
  return { video: l.video?.id, audio: l.audio?.id };
};

describe('chooseLecture', () => {
  it.each([
    ['nothing published', [], { video: undefined, audio: undefined }],
    ['a camera alone', [stream('cam', 'camera', ['audio', 'video'])], { video: 'cam:video', audio: 'cam:audio' }],
    [
      'a screen share wins the video, the camera keeps the audio',
      [stream('cam', 'camera', ['audio', 'video']), stream('scr', 'screenshare', ['video'])],
      { video: 'scr:video', audio: 'cam:audio' },
    ],
    ['a WHIP stream (label "")', [stream('whip', '', ['video', 'audio'])], { video: 'whip:video', audio: 'whip:audio' }],
    [
      'the newest camera is followed',
      [stream('old', 'camera', ['audio', 'video']), stream('new', 'camera', ['audio', 'video'])],
      { video: 'new:video', audio: 'new:audio' },
    ],
    [
      'a screen share with its own audio and no camera',
      [stream('scr', 'screenshare', ['video', 'audio']), stream('mic', 'video', ['audio'])],
      { video: 'scr:video', audio: 'scr:audio' },
    ],
    ['audio only', [stream('mic', 'camera', ['audio'])], { video: undefined, audio: 'mic:audio' }],
  ])('%s', (_name, streams, want) => {
    expect(ids(streams)).toEqual(want);
  });
});
