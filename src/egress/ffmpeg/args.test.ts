import { describe, expect, it } from 'vitest';
import { compositeArgs, decodeCheckArgs, hlsVodArgs, remuxArgs, thumbnailArgs } from './args.js';

const H264 = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p'];
const AAC = ['-c:a', 'aac', '-b:a', '128k', '-ac', '2'];
const FIT = 'scale=1280:720:force_original_aspect_ratio=decrease,pad=1280:720:(ow-iw)/2:(oh-ih)/2,setsar=1';

describe('simple builders', () => {
  it.each([
    ['remux', remuxArgs('in.webm', 'out.webm'), ['-y', '-i', 'in.webm', '-map', '0', '-c', 'copy', 'out.webm']],
    [
      'jpeg thumbnail',
      thumbnailArgs('a.webm', 't.jpg', 1.5),
      ['-y', '-ss', '1.500', '-i', 'a.webm', '-frames:v', '1', '-an', '-vf', "scale='min(640,iw)':-2", '-q:v', '3', 't.jpg'],
    ],
    [
      'png thumbnail, narrower',
      thumbnailArgs('a.webm', 't.png', 0, 320),
      ['-y', '-ss', '0.000', '-i', 'a.webm', '-frames:v', '1', '-an', '-vf', "scale='min(320,iw)':-2", 't.png'],
    ],
    [
      'hls re-encode',
      hlsVodArgs('in.mp4', '/d'),
      [
        '-y', '-i', 'in.mp4', '-map', '0:v:0?', '-map', '0:a:0?',
        ...H264, '-force_key_frames', 'expr:gte(t,n_forced*4)', ...AAC,
        '-f', 'hls', '-hls_time', '4', '-hls_playlist_type', 'vod',
        '-hls_segment_filename', '/d/segment%05d.ts', '/d/index.m3u8',
      ],
    ],
    [
      'hls copy, 6 s, own playlist name',
      hlsVodArgs('in.mp4', '/d', { copy: true, segmentSeconds: 6, playlist: 'replay.m3u8' }),
      [
        '-y', '-i', 'in.mp4', '-map', '0:v:0?', '-map', '0:a:0?', '-c', 'copy',
        '-f', 'hls', '-hls_time', '6', '-hls_playlist_type', 'vod',
        '-hls_segment_filename', '/d/segment%05d.ts', '/d/replay.m3u8',
      ],
    ],
    ['decode check', decodeCheckArgs('x.mp4'), ['-v', 'error', '-xerror', '-i', 'x.mp4', '-f', 'null', '-']],
  ])('%s', (_name, actual, expected) => {
    expect(actual).toEqual(expected);
  });

  it('refuses a negative thumbnail time', () => {
    expect(() => thumbnailArgs('a', 'b.jpg', -1)).toThrow(RangeError);
    expect(() => thumbnailArgs('a', 'b.jpg', Number.NaN)).toThrow(RangeError);
  });
});

describe('compositeArgs', () => {
  const tail = ['-movflags', '+faststart', 'out.mp4'];
  it.each([
    [
      'screen + camera + audio from the camera file (opened once)',
      { screen: 's.webm', camera: 'c.webm', audio: 'c.webm' },
      [
        '-y', '-i', 's.webm', '-i', 'c.webm',
        '-filter_complex',
        `[0:v]${FIT}[bg];[1:v]scale=320:-2,setsar=1[cam];[bg][cam]overlay=W-w-16:H-h-16:eof_action=pass,fps=30,format=yuv420p[v]`,
        '-map', '[v]', ...H264, '-map', '1:a:0', ...AAC, ...tail,
      ],
    ],
    [
      'screen + camera + separate audio',
      { screen: 's.webm', camera: 'c.webm', audio: 'a.webm' },
      [
        '-y', '-i', 's.webm', '-i', 'c.webm', '-i', 'a.webm',
        '-filter_complex',
        `[0:v]${FIT}[bg];[1:v]scale=320:-2,setsar=1[cam];[bg][cam]overlay=W-w-16:H-h-16:eof_action=pass,fps=30,format=yuv420p[v]`,
        '-map', '[v]', ...H264, '-map', '2:a:0', ...AAC, ...tail,
      ],
    ],
    [
      'camera only, with audio',
      { camera: 'c.webm', audio: 'c.webm' },
      ['-y', '-i', 'c.webm', '-filter_complex', `[0:v]${FIT},fps=30,format=yuv420p[v]`, '-map', '[v]', ...H264, '-map', '0:a:0', ...AAC, ...tail],
    ],
    [
      'screen only, no audio',
      { screen: 's.webm' },
      ['-y', '-i', 's.webm', '-filter_complex', `[0:v]${FIT},fps=30,format=yuv420p[v]`, '-map', '[v]', ...H264, '-an', ...tail],
    ],
    ['audio only', { audio: 'a.webm' }, ['-y', '-i', 'a.webm', '-vn', '-map', '0:a:0', ...AAC, ...tail]],
  ])('%s', (_name, inputs, expected) => {
    expect(compositeArgs(inputs, 'out.mp4')).toEqual(expected);
  });

  it('takes size, inset and margin', () => {
    const args = compositeArgs({ screen: 's', camera: 'c' }, 'o.mp4', { width: 1920, height: 1080, insetWidth: 480, margin: 24, fps: 25 });
    const filter = args[args.indexOf('-filter_complex') + 1];
    expect(filter).toContain(',fps=25,');
    expect(filter).toContain('pad=1920:1080');
    expect(filter).toContain('[1:v]scale=480:-2');
    expect(filter).toContain('overlay=W-w-24:H-h-24');
  });

  it('needs at least one input', () => {
    expect(() => compositeArgs({}, 'o.mp4')).toThrow(expect.objectContaining({ code: 'composite-no-input' }));
  });
});
