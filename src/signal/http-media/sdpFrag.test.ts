import { describe, expect, it } from 'vitest';
import { answerFrag, parseSdpFrag, restartOffer } from './sdpFrag.js';

const OFFER = [
  'v=0', 'o=- 1 1 IN IP4 0.0.0.0', 's=-', 't=0 0', 'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=mid:0', 'a=ice-ufrag:old', 'a=ice-pwd:oldpassword', 'a=candidate:1 1 udp 1 10.0.0.1 5000 typ host', 'a=end-of-candidates',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:1', 'a=ice-ufrag:old', 'a=ice-pwd:oldpassword',
].join('\r\n');

describe('parseSdpFrag', () => {
  it.each([
    ['session-level credentials and a candidate under its mid', 'a=ice-ufrag:u1\r\na=ice-pwd:p1\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 5000 typ host\r\n', { ufrag: 'u1', pwd: 'p1', n: 1, mid: '0', end: false }],
    ['end-of-candidates only', 'a=end-of-candidates\n', { ufrag: undefined, pwd: undefined, n: 0, mid: undefined, end: true }],
    ['credentials inside the media section', 'm=video 9 RTP/AVP 0\r\na=mid:v\r\na=ice-ufrag:x\r\na=ice-pwd:y\r\na=candidate:2 1 udp 5 ::1 9 typ host\r\n', { ufrag: 'x', pwd: 'y', n: 1, mid: 'v', end: false }],
  ])('%s', (_name, text, want) => {
    const f = parseSdpFrag(text);
    expect(f.ufrag).toBe(want.ufrag);
    expect(f.pwd).toBe(want.pwd);
    expect(f.candidates).toHaveLength(want.n);
    expect(f.candidates[0]?.sdpMid ?? undefined).toBe(want.mid);
    expect(f.endOfCandidates).toBe(want.end);
  });

  it.each([
    ['empty', ''],
    ['binary junk', '\u0001\u0002\u0003'],
    ['no attributes', 'm=audio 9 RTP/AVP 0\r\n'],
    ['a truncated candidate', 'a=candidate:1 1 udp\r\n'],
    ['prose', 'hello world'],
  ])('refuses %s with bad-sdpfrag', (_name, text) => {
    expect(() => parseSdpFrag(text)).toThrow(expect.objectContaining({ code: 'bad-sdpfrag' }));
  });
});

describe('restartOffer', () => {
  it('swaps every ufrag/pwd and replaces the candidates by the fragment\'s, per mid', () => {
    const frag = parseSdpFrag('a=ice-ufrag:new\r\na=ice-pwd:newpassword\r\nm=audio 9 RTP/AVP 0\r\na=mid:1\r\na=candidate:9 1 udp 1 127.0.0.1 6000 typ host\r\n');
    const out = restartOffer(OFFER, frag);
    expect(out).not.toMatch(/old/);
    expect(out.match(/a=ice-ufrag:new/g)).toHaveLength(2);
    expect(out).not.toMatch(/10\.0\.0\.1/);
    const audio = out.slice(out.indexOf('m=audio'));
    expect(audio).toMatch(/a=candidate:9 1 udp 1 127\.0\.0\.1 6000 typ host/);
    expect(out.slice(0, out.indexOf('m=audio'))).not.toMatch(/a=candidate/);
  });

  it('needs both credentials', () => {
    expect(() => restartOffer(OFFER, parseSdpFrag('a=ice-ufrag:new\r\n'))).toThrow(expect.objectContaining({ code: 'bad-sdpfrag' }));
  });
});

describe('answerFrag', () => {
  it('carries the answer\'s credentials, first m-line, mid and candidates', () => {
    const f = answerFrag(OFFER);
    expect(f).toBe(
      'a=ice-ufrag:old\r\na=ice-pwd:oldpassword\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n',
    );
  });
});
