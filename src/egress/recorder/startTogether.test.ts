import { describe, expect, it } from 'vitest';
import { OPUS_FRAME_MS, OPUS_SILENCE_20MS, padToCommonStart, type QueuedFrame } from './startTogether.js';

const frame = (timeMs: number, keyframe = false, data = Buffer.from([timeMs & 0xff])): QueuedFrame => ({ frame: { data, keyframe }, timeMs });
const synth = (q: QueuedFrame, data: Buffer, keyframe: boolean, timeMs: number): QueuedFrame => ({ frame: { ...q.frame, data, keyframe }, timeMs });
const times = (q: QueuedFrame[]) => q.map((f) => f.timeMs);

describe('padToCommonStart', () => {
  it('audio first: the first video keyframe is repeated at the audio start; no audio is dropped', () => {
    const audio = [0, 20, 40, 60, 80, 100, 120].map((t) => frame(t, true));
    const key = frame(117, true, Buffer.from('keyframe'));
    const video = [key, frame(150)];
    padToCommonStart([{ kind: 'video', queue: video }, { kind: 'audio', queue: audio }], synth);
    expect(times(audio)).toEqual([0, 20, 40, 60, 80, 100, 120]);
    expect(times(video)).toEqual([0, 117, 150]);
    expect(video[0]!.frame).toEqual({ data: key.frame.data, keyframe: true });
  });

  it('video first: Opus silence from the video start up to the first audio frame; video untouched', () => {
    const video = [frame(0, true), frame(33), frame(66)];
    const audio = [frame(630, true), frame(650, true)];
    padToCommonStart([{ kind: 'video', queue: video }, { kind: 'audio', queue: audio }], synth);
    expect(times(video)).toEqual([0, 33, 66]);
    const pad = audio.slice(0, -2);
    expect(pad.length).toBe(32); // 0, 20, ..., 620: the last one reaches the first audio frame, within 10 ms
    expect(times(pad)).toEqual(pad.map((_, i) => i * OPUS_FRAME_MS));
    for (const p of pad) expect(p.frame.data).toEqual(OPUS_SILENCE_20MS);
    expect(times(audio.slice(-2))).toEqual([630, 650]);
  });

  it('leaves tracks that already start together, and a lone track, as they are', () => {
    const video = [frame(0, true)];
    const audio = [frame(0, true)];
    padToCommonStart([{ kind: 'video', queue: video }, { kind: 'audio', queue: audio }], synth);
    expect(times(video)).toEqual([0]);
    expect(times(audio)).toEqual([0]);
    const alone = [frame(40, true)];
    padToCommonStart([{ kind: 'audio', queue: alone }, { kind: 'video', queue: [] }], synth);
    expect(times(alone)).toEqual([40]);
  });
});
