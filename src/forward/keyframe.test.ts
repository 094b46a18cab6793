import { describe, expect, it } from 'vitest';
import { isKeyframe } from './keyframe.js';

const b = (...bytes: number[]) => Uint8Array.from(bytes);

describe('isKeyframe', () => {
  it.each([
    // VP8: descriptor byte, [extension byte, picture id...], then the payload header (bit 0 = P)
    ['vp8 minimal keyframe', 'vp8', b(0x10, 0x00), true],
    ['vp8 minimal interframe', 'vp8', b(0x10, 0x01), false],
    ['vp8 not start of partition', 'vp8', b(0x00, 0x00), false],
    ['vp8 start of partition 1', 'vp8', b(0x11, 0x00), false],
    ['vp8 X+I with 15-bit picture id, keyframe', 'vp8', b(0x90, 0x80, 0x81, 0x23, 0x9c), true],
    ['vp8 X+I with 15-bit picture id, interframe', 'vp8', b(0x90, 0x80, 0x81, 0x23, 0x9d), false],
    ['vp8 X+I with 7-bit picture id, keyframe', 'vp8', b(0x90, 0x80, 0x05, 0x10), true],
    ['vp8 X+I+L+T, keyframe', 'vp8', b(0x90, 0xe0, 0x05, 0x07, 0x40, 0x10), true],
    ['vp8 X+I+L+T, interframe', 'vp8', b(0x90, 0xe0, 0x05, 0x07, 0x40, 0x11), false],
    ['vp8 truncated', 'vp8', b(0x90, 0x80), false],
    ['vp8 empty', 'vp8', b(), false],
    // VP9: I P L F B E V Z
    ['vp9 keyframe start', 'vp9', b(0x88, 0x01), true],
    ['vp9 inter-predicted', 'vp9', b(0xc8, 0x01), false],
    ['vp9 not beginning of frame', 'vp9', b(0x80, 0x01), false],
    ['vp9 keyframe with layers, sid 0', 'vp9', b(0xa8, 0x01, 0x00, 0x00), true],
    ['vp9 layer sid 1', 'vp9', b(0xa8, 0x01, 0x02, 0x00), false],
    // H.264
    ['h264 IDR single NAL', 'h264', b(0x65, 0x88), true],
    ['h264 SPS single NAL', 'h264', b(0x67, 0x42), true],
    ['h264 non-IDR slice', 'h264', b(0x41, 0x9a), false],
    ['h264 STAP-A with SPS and PPS', 'h264', b(0x78, 0x00, 0x02, 0x67, 0x42, 0x00, 0x02, 0x68, 0xce), true],
    ['h264 STAP-A without', 'h264', b(0x78, 0x00, 0x02, 0x06, 0x05, 0x00, 0x02, 0x41, 0x9a), false],
    ['h264 FU-A start of IDR', 'h264', b(0x7c, 0x85, 0x88), true],
    ['h264 FU-A middle of IDR', 'h264', b(0x7c, 0x05, 0x88), false],
    ['h264 FU-A start of non-IDR', 'h264', b(0x7c, 0x81, 0x88), false],
    ['opus never', 'opus', b(0x10, 0x00), false],
  ] as const)('%s', (_name, codec, payload, want) => {
    expect(isKeyframe(codec, payload)).toBe(want);
  });
});
