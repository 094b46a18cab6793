import { describe, expect, it } from 'vitest';
import { parseHlsPath } from './hlsPath.js';

describe('parseHlsPath', () => {
  it.each([
    ['physics/.hls/index.m3u8', { group: 'physics', file: 'index.m3u8' }],
    ['a/b/.hls/ab12cd34-1-00003.m4s', { group: 'a/b', file: 'ab12cd34-1-00003.m4s' }],
    ['physics/.hls/ab12cd34-1-init.mp4', { group: 'physics', file: 'ab12cd34-1-init.mp4' }],
    ['physics/.hls/../x.m3u8', undefined],
    ['physics/.hls/..%2fx.m3u8', undefined],
    ['physics/.hls/.hidden.m3u8', undefined],
    ['physics/.hls/sub/index.m3u8', undefined],
    ['physics/.hls/index.sdp', undefined],
    ['physics/.hls/index.m3u8.tmp', undefined],
    ['../.hls/index.m3u8', undefined],
    ['.hls/index.m3u8', undefined],
    ['physics/.hls/%E0%A4%A', undefined],
  ])('%s', (raw, want) => {
    expect(parseHlsPath(raw)).toEqual(want);
  });
});
