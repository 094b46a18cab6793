import { describe, expect, it } from 'vitest';
import { commonStart, START_TOLERANCE_MS, type StartFrame } from './commonStart.js';

/** Video at 30 fps from `fromMs`, a keyframe every `gop` frames; audio every 20 ms from `fromMs`. */
const video = (fromMs: number, n: number, gop = 60): StartFrame[] =>
  Array.from({ length: n }, (_, i) => ({ timeMs: fromMs + (i * 1000) / 30, keyframe: i % gop === 0 }));
const audio = (fromMs: number, n: number): StartFrame[] => Array.from({ length: n }, (_, i) => ({ timeMs: fromMs + i * 20, keyframe: false }));

/** The first kept frame of each track, relative to the cut's zero. */
function starts(v: StartFrame[], a: StartFrame[], final = false) {
  const cut = commonStart(v, a, final);
  if ('wait' in cut) return cut;
  return { video: v[cut.video]!.timeMs - cut.zeroMs, audio: a[cut.audio]!.timeMs - cut.zeroMs };
}

describe('commonStart', () => {
  it('audio first: the audio before the first keyframe is trimmed; both start within a frame', () => {
    const v = video(1234, 30);
    const a = audio(0, 100);
    const cut = commonStart(v, a);
    expect(cut).toEqual({ video: 0, audio: 61, zeroMs: 1220 }); // 1220 ms: the first audio frame from 1234 - 16.7 ms
    expect(starts(v, a)).toEqual({ video: 14, audio: 0 });
  });

  it('video first: the first group of pictures is trimmed; waits for a keyframe after the audio starts', () => {
    const v = video(0, 40, 30); // keyframes at 0 and 1000 ms
    const a = audio(630, 10); // up to 810 ms
    expect(commonStart(v.slice(0, 30), a)).toEqual({ wait: 'keyframe' });
    expect(commonStart(v, a)).toEqual({ wait: 'audio' });
    const more = [...a, ...audio(830, 20)]; // up to 1210 ms
    expect(commonStart(v, more)).toEqual({ video: 30, audio: 18, zeroMs: 990 });
    expect(starts(v, more)).toEqual({ video: 10, audio: 0 });
  });

  it('a keyframe just before the audio starts is close enough', () => {
    const v = video(0, 40, 30);
    const a = audio(10, 10);
    expect(starts(v, a)).toEqual({ video: 0, audio: 10 });
    expect(commonStart(video(0, 30, 30), audio(START_TOLERANCE_MS + 1, 10))).toEqual({ wait: 'keyframe' });
  });

  it('waits for the audio to reach the keyframe, which may have come before the audio queued up to it', () => {
    const v = video(500, 5);
    expect(commonStart(v, audio(0, 10))).toEqual({ wait: 'audio' }); // audio up to 180 ms
    expect(starts(v, audio(0, 30))).toEqual({ video: 0, audio: 0 }); // 500 ms is an audio frame's time
  });

  it('final: never waits; what has no partner starts where it is', () => {
    // Video first, no later keyframe: nothing trimmed.
    expect(commonStart(video(0, 20), audio(300, 5), true)).toEqual({ video: 0, audio: 0, zeroMs: 0 });
    // Audio that never reached the keyframe: dropped, the file starts at the keyframe.
    expect(commonStart(video(500, 5), audio(0, 10), true)).toEqual({ video: 0, audio: 10, zeroMs: 500 });
  });

  it('one track alone, or none, is left as it is', () => {
    expect(commonStart(video(40, 3), [])).toEqual({ video: 0, audio: 0, zeroMs: 40 });
    expect(commonStart([], audio(7, 3))).toEqual({ video: 0, audio: 0, zeroMs: 7 });
    expect(commonStart([], [])).toEqual({ video: 0, audio: 0, zeroMs: 0 });
  });

  it('the times of the frames kept are only shifted together: lip sync stays as the sender reports gave it', () => {
    const v = video(333, 90, 30);
    const a = audio(0, 200);
    const cut = commonStart(v, a);
    if ('wait' in cut) throw new Error('should not wait');
    expect(v[cut.video]!.keyframe).toBe(true);
    expect(Math.abs(v[cut.video]!.timeMs - a[cut.audio]!.timeMs)).toBeLessThanOrEqual(START_TOLERANCE_MS);
    expect(cut.zeroMs).toBe(Math.min(v[cut.video]!.timeMs, a[cut.audio]!.timeMs));
  });
});
