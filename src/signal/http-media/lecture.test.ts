import { describe, expect, it } from 'vitest';
import type { UpTrack } from '../../forward/types.js';
import { chooseLecture, type LectureCandidate } from './lecture.js';

function stream(name: string, label: string, kinds: ('audio' | 'video')[]): LectureCandidate {
  const seen = new Set<string>();
  // A second video track is a second simulcast layer: `name:video`, then `name:video2`.
  const tracks = kinds.map((kind) => {
    const id = seen.has(kind) ? `${name}:${kind}2` : `${name}:${kind}`;
    seen.add(kind);
    return { id, kind } as unknown as UpTrack;
  });
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

  it('exposes the video stream\'s simulcast layers, best first; the inset is the camera\'s first layer', () => {
    const cam = stream('cam', 'camera', ['video', 'audio', 'video']);
    const alone = chooseLecture([cam]);
    expect(alone.video?.id).toBe('cam:video');
    expect(alone.videoLayers?.map((t) => t.id)).toEqual(['cam:video', 'cam:video2']);
    const shared = chooseLecture([cam, stream('scr', 'screenshare', ['video'])]);
    expect(shared.videoLayers?.map((t) => t.id)).toEqual(['scr:video']);
    expect(shared.inset?.id).toBe('cam:video');
    expect(chooseLecture([stream('mic', 'camera', ['audio'])]).videoLayers).toBeUndefined();
  });
});
