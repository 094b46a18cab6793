import { describe, expect, it } from 'vitest';
import { finalizeAnswer, finalizeOffer, looksLikeSdp, parseMline, splitSdp } from './sdpText.js';

const answer = [
  'v=0',
  'o=- 1 0 IN IP4 0.0.0.0',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'c=IN IP4 0.0.0.0',
  'a=ice-lite',
  'a=mid:0',
  'a=rtpmap:96 VP8/90000',
  'a=simulcast:recv h;l ',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=ice-lite',
  'a=mid:1',
  'a=rtpmap:111 opus/48000/2',
  'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1',
  'm=video 9 UDP/TLS/RTP/SAVPF 102',
  'a=ice-lite',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 packetization-mode=1;profile-level-id=42e01f',
  '',
].join('\r\n');

describe('SDP text', () => {
  it('splits into session and media sections and trims trailing blanks', () => {
    const s = splitSdp(answer);
    expect(s.session.lines[0]).toBe('v=0');
    expect(s.media).toHaveLength(3);
    expect(s.media[0]!.lines).toContain('a=simulcast:recv h;l');
  });

  it('parses m= lines', () => {
    expect(parseMline('m=video 9 UDP/TLS/RTP/SAVPF 96 97')).toEqual({
      kind: 'video',
      port: 9,
      proto: 'UDP/TLS/RTP/SAVPF',
      fmts: ['96', '97'],
    });
    expect(parseMline('m=video x')).toBeUndefined();
  });

  it('moves ice-lite to session level and adds the start bitrate to video only', () => {
    const out = finalizeAnswer(answer, 1500);
    const lines = out.split('\r\n');
    expect(lines.filter((l) => l === 'a=ice-lite')).toHaveLength(1);
    expect(lines.indexOf('a=ice-lite')).toBe(lines.indexOf('t=0 0') + 1);
    expect(lines.indexOf('a=ice-lite')).toBeLessThan(lines.findIndex((l) => l.startsWith('m=')));
    expect(lines[lines.indexOf('a=rtpmap:96 VP8/90000') + 1]).toBe('a=fmtp:96 x-google-start-bitrate=1500');
    expect(lines).toContain('a=fmtp:102 packetization-mode=1;profile-level-id=42e01f;x-google-start-bitrate=1500');
    expect(lines).toContain('a=fmtp:111 minptime=10;useinbandfec=1;stereo=1');
    expect(out.endsWith('\r\n')).toBe(true);
  });

  it('offers get ice-lite at session level but no start bitrate', () => {
    const out = finalizeOffer(answer);
    expect(out).not.toContain('x-google');
    expect(out.split('\r\n').filter((l) => l === 'a=ice-lite')).toHaveLength(1);
  });

  it.each([
    [answer, true],
    ['', false],
    ['hello', false],
    [42, false],
    [null, false],
    ['v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n', false],
    ['v=0\r\nm=video\r\n', false],
  ])('looksLikeSdp %#', (sdp, want) => {
    expect(looksLikeSdp(sdp)).toBe(want);
  });
});
