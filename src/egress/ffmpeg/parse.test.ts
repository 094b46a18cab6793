import { describe, expect, it } from 'vitest';
import { StderrTail, parseDuration, parseStreams } from './parse.js';

const SAMPLE = `Input #0, matroska,webm, from 'in.webm':
  Metadata:
    ENCODER         : Lavf58.20.100
  Duration: 00:00:03.01, start: 0.000000, bitrate: 263 kb/s
    Stream #0:0: Video: vp8, yuv420p(progressive), 320x240, SAR 1:1 DAR 4:3, 25 fps, 25 tbr, 1k tbn, 1k tbc (default)
    Stream #0:1(eng): Audio: opus, 48000 Hz, mono, fltp (default)
Output #0, null, to 'pipe:':
    Stream #0:0: Video: wrapped_avframe, yuv420p, 320x240
`;

describe('parseDuration', () => {
  it.each([
    [SAMPLE, 3.01],
    ['  Duration: 01:02:03.50, start', 3723.5],
    ['  Duration: N/A, bitrate: N/A', undefined],
    ['nothing here', undefined],
  ])('%#', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });
});

describe('parseStreams', () => {
  it('reads the input streams only', () => {
    expect(parseStreams(SAMPLE)).toEqual([
      { id: '0:0', type: 'video', codec: 'vp8', width: 320, height: 240 },
      { id: '0:1', type: 'audio', codec: 'opus' },
    ]);
  });
  it('handles stream ids with a [0x1] suffix (MPEG-TS)', () => {
    expect(parseStreams('    Stream #0:0[0x100]: Video: h264 (High) ([27][0][0][0] / 0x001B), yuv420p, 1280x720, 25 fps')).toEqual([
      { id: '0:0', type: 'video', codec: 'h264', width: 1280, height: 720 },
    ]);
  });
  it('is empty for garbage', () => {
    expect(parseStreams('in.bin: Invalid data found when processing input')).toEqual([]);
  });
});

describe('StderrTail', () => {
  it('keeps the last N complete lines across chunks and carriage returns', () => {
    const t = new StderrTail(3);
    t.push('one\ntw');
    t.push('o\r\nthree\rfour\n\nfi');
    expect(t.lines()).toEqual(['two', 'three', 'four']);
    t.flush();
    expect(t.lines()).toEqual(['three', 'four', 'fi']);
  });
});
