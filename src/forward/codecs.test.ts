import { describe, expect, it } from 'vitest';
import { CODECS, codecMatch, knownCodecs, parseFmtp } from './codecs.js';

describe('codec table', () => {
  it("uses Galène's fixed payload types", () => {
    expect(CODECS.vp8.payloadType).toBe(96);
    expect(CODECS.vp9.payloadType).toBe(98);
    expect(CODECS.h264.payloadType).toBe(102);
    expect(CODECS.opus.payloadType).toBe(111);
    expect(CODECS.opus.fmtp).toBe('minptime=10;useinbandfec=1;stereo=1');
    expect(CODECS.h264.fmtp).toContain('packetization-mode=1');
    expect(CODECS.h264.fmtp).toContain('profile-level-id=42e01f');
    expect(CODECS.opus.feedback).toEqual([]);
    expect(CODECS.vp8.feedback.map((f) => `${f.type} ${f.parameter ?? ''}`.trim())).toEqual([
      'goog-remb',
      'nack',
      'nack pli',
      'ccm fir',
    ]);
  });

  it('keeps known names in order, lower-cased and de-duplicated', () => {
    expect(knownCodecs(['VP8', 'opus', 'av1', 'vp8', 'h264'])).toEqual(['vp8', 'opus', 'h264']);
  });

  it('parses fmtp', () => {
    const p = parseFmtp('profile-level-id=42E01F; packetization-mode=1;flag');
    expect(p.get('profile-level-id')).toBe('42E01F');
    expect(p.get('packetization-mode')).toBe('1');
    expect(p.has('flag')).toBe(true);
  });

  it.each([
    ['vp8', { name: 'VP8', clockRate: 90000 }, 1],
    ['vp8', { name: 'VP9', clockRate: 90000 }, 0],
    ['opus', { name: 'opus', clockRate: 48000, channels: 2 }, 1],
    ['opus', { name: 'opus', clockRate: 48000 }, 0],
    ['h264', { name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42e01f' }, 2],
    ['h264', { name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=42001f' }, 1],
    ['h264', { name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=0;profile-level-id=42e01f' }, 0],
    ['h264', { name: 'H264', clockRate: 90000, fmtp: 'packetization-mode=1;profile-level-id=640c1f' }, 0],
    ['vp9', { name: 'VP9', clockRate: 90000, fmtp: 'profile-id=2' }, 0],
    ['vp9', { name: 'VP9', clockRate: 90000 }, 1],
  ] as const)('%s matches %o with score %i', (name, offered, want) => {
    expect(codecMatch(CODECS[name], offered)).toBe(want);
  });
});
