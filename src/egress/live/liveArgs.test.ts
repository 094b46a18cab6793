import { describe, expect, it } from 'vitest';
import { compositeArgs, lectureVideoFilter } from '../ffmpeg/args.js';
import { liveHlsArgs, liveSdp } from './liveArgs.js';

const vp8 = { codec: 'VP8', payloadType: 96, clockRate: 90000, port: 40000 };
const opus = { codec: 'opus', payloadType: 111, clockRate: 48000, channels: 2, port: 40002 };

describe('liveSdp', () => {
  it('describes each stream on its loopback port', () => {
    const sdp = liveSdp({ video: vp8, audio: opus });
    expect(sdp).toContain('c=IN IP4 127.0.0.1\r\n');
    expect(sdp).toContain('m=video 40000 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\n');
    expect(sdp).toContain('m=audio 40002 RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\n');
  });
  it('keeps H.264 fmtp and refuses bad input', () => {
    const h264 = { codec: 'H264', payloadType: 102, clockRate: 90000, fmtp: 'packetization-mode=1', port: 40004 };
    expect(liveSdp({ video: h264 })).toContain('a=fmtp:102 packetization-mode=1\r\n');
    expect(() => liveSdp({})).toThrow(/no stream/);
    expect(() => liveSdp({ inset: vp8, audio: opus })).toThrow(/inset needs a main video/);
    expect(() => liveSdp({ video: { ...vp8, codec: 'VP8\r\nm=x' } })).toThrow(/bad codec/);
    expect(() => liveSdp({ video: { ...vp8, port: 70000 } })).toThrow(/bad port/);
  });
});

describe('liveSdp with an inset', () => {
  it('lists the main video first, then the inset, then the audio', () => {
    const sdp = liveSdp({ video: vp8, inset: { ...vp8, payloadType: 97, port: 40004 }, audio: opus });
    const mlines = sdp.split('\r\n').filter((l) => l.startsWith('m='));
    expect(mlines).toEqual(['m=video 40000 RTP/AVP 96', 'm=video 40004 RTP/AVP 97', 'm=audio 40002 RTP/AVP 111']);
  });
});

describe('liveHlsArgs', () => {
  const value = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  it('writes 1 s fMP4 segments of fixed-size H.264/AAC with keyframes on the boundaries', () => {
    const args = liveHlsArgs('/o/r1.sdp', { video: vp8, audio: opus }, { dir: '/o', prefix: 'r1' });
    expect(value(args, '-protocol_whitelist')).toBe('file,udp,rtp');
    expect(value(args, '-i')).toBe('/o/r1.sdp');
    expect(value(args, '-hls_time')).toBe('1');
    expect(value(args, '-hls_segment_type')).toBe('fmp4');
    expect(value(args, '-force_key_frames')).toBe('expr:gte(t,n_forced*1)');
    expect(value(args, '-filter_complex')).toMatch(/^\[0:v:0\]scale=1280:720:.*pad=1280:720.*fps=30,format=yuv420p\[v\]$/);
    expect(value(args, '-filter_complex')).not.toContain('overlay');
    expect(args.join(' ')).toContain('-map [v] -map 0:a:0');
    expect(value(args, '-c:v')).toBe('libx264');
    expect(value(args, '-c:a')).toBe('aac');
    expect(value(args, '-hls_segment_filename')).toBe('/o/r1-%05d.m4s');
    expect(args.at(-1)).toBe('/o/r1.m3u8');
    expect(args).not.toContain('lavfi');
  });
  it('fills a missing kind with black video or silence', () => {
    const audioOnly = liveHlsArgs('/o/a.sdp', { audio: opus }, { dir: '/o', prefix: 'a', width: 640, height: 360 });
    expect(audioOnly.join(' ')).toContain('-f lavfi -i color=c=black:s=640x360:r=30');
    expect(value(audioOnly, '-filter_complex')).toMatch(/^\[1:v:0\]scale=640:360/);
    const videoOnly = liveHlsArgs('/o/v.sdp', { video: vp8 }, { dir: '/o', prefix: 'v' });
    expect(videoOnly.join(' ')).toContain('anullsrc');
    expect(videoOnly.join(' ')).toContain('-map [v] -map 1:a:0');
  });
  it('overlays the inset bottom-right with the composite job\'s layout, keeping the size', () => {
    const inputs = { video: vp8, inset: { ...vp8, port: 40004 }, audio: opus };
    const args = liveHlsArgs('/o/i.sdp', inputs, { dir: '/o', prefix: 'i' });
    const filter = value(args, '-filter_complex')!;
    expect(filter).toBe(lectureVideoFilter('0:v:0', '0:v:1', { width: 1280, height: 720 }, 'fps=30'));
    expect(filter).toContain('[0:v:1]scale=320:-2'); // a quarter of the width, as in the composite
    expect(filter).toContain('overlay=W-w-16:H-h-16');
    // The composite's own arguments use the same layout, and the same frame rate.
    expect(value(compositeArgs({ screen: 's.webm', camera: 'c.webm' }, 'o.mp4'), '-filter_complex')).toBe(lectureVideoFilter('0:v', '1:v', {}, 'fps=30'));
    expect(args.join(' ')).toContain('-map [v] -map 0:a:0');
    expect(value(args, '-preset')).toBe('veryfast');
    expect(args).not.toContain('lavfi');
  });
});
