import { describe, expect, it } from 'vitest';
import { LecternError } from '../errors.js';
import { bestLayerFirst, sanitizeOffer } from './offer.js';

/** A Chrome-like offer: VP8 + RTX + VP9 + H.264 variants, transport-cc, simulcast h/l; opus + RED. */
const chromeOffer = [
  'v=0',
  'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=group:BUNDLE 0 1',
  'a=msid-semantic: WMS',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8',
  'c=IN IP4 0.0.0.0',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:abcdefghijklmnopqrstuvwx',
  'a=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF',
  'a=setup:actpass',
  'a=mid:0',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtpmap:111 opus/48000/2',
  'a=rtcp-fb:111 transport-cc',
  'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2',
  'a=fmtp:63 111/111',
  'a=rtpmap:9 G722/8000',
  'a=rtpmap:0 PCMU/8000',
  'a=rtpmap:8 PCMA/8000',
  'a=ssrc:1111 cname:x',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99 102 103 127',
  'c=IN IP4 0.0.0.0',
  'a=mid:1',
  'a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid',
  'a=extmap:10 urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
  'a=extmap:11 urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id',
  'a=sendonly',
  'a=rtcp-mux',
  'a=rtcp-rsize',
  'a=rtpmap:96 VP8/90000',
  'a=rtcp-fb:96 goog-remb',
  'a=rtcp-fb:96 transport-cc',
  'a=rtcp-fb:96 ccm fir',
  'a=rtcp-fb:96 nack',
  'a=rtcp-fb:96 nack pli',
  'a=rtpmap:97 rtx/90000',
  'a=fmtp:97 apt=96',
  'a=rtpmap:98 VP9/90000',
  'a=fmtp:98 profile-id=0',
  'a=rtpmap:99 rtx/90000',
  'a=fmtp:99 apt=98',
  'a=rtpmap:102 H264/90000',
  'a=rtcp-fb:102 nack',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f',
  'a=rtpmap:127 H264/90000',
  'a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:103 rtx/90000',
  'a=fmtp:103 apt=102',
  'a=rid:h send max-width=1280',
  'a=rid:l send',
  'a=simulcast:send h;l',
  '',
].join('\r\n');

describe('sanitizeOffer', () => {
  it('keeps one codec per section, with the allowed feedback only', () => {
    const o = sanitizeOffer(chromeOffer, ['vp8', 'opus']);
    expect(o.media.map((m) => [m.kind, m.codec?.name, m.codec?.payloadType, m.mid])).toEqual([
      ['audio', 'opus', 111, '0'],
      ['video', 'vp8', 96, '1'],
    ]);
    const lines = o.sdp.split('\r\n');
    expect(lines).toContain('m=audio 9 UDP/TLS/RTP/SAVPF 111');
    expect(lines).toContain('m=video 9 UDP/TLS/RTP/SAVPF 96');
    expect(lines).toContain('a=fmtp:111 minptime=10;useinbandfec=1;stereo=1');
    expect(o.sdp).not.toContain('transport-cc');
    expect(o.sdp).not.toMatch(/rtx|red\/|G722|PCMU/);
    expect(lines.filter((l) => l.startsWith('a=rtcp-fb:96'))).toEqual([
      'a=rtcp-fb:96 goog-remb',
      'a=rtcp-fb:96 ccm fir',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
    ]);
    expect(lines.some((l) => l.startsWith('a=rtcp-fb:111'))).toBe(false);
  });

  it('reports simulcast layers and normalises rid lines', () => {
    const o = sanitizeOffer(chromeOffer, ['vp8', 'opus']);
    expect(o.media[1]!.rids).toEqual(['h', 'l']);
    expect(o.sdp).toContain('a=rid:h send\r\n');
    expect(o.sdp).toContain('a=simulcast:send h;l');
  });

  it("orders Chrome's three layers best first, whatever order they were offered in", () => {
    const threeLayers = chromeOffer
      .replace('a=rid:h send max-width=1280\r\na=rid:l send\r\n', 'a=rid:q send\r\na=rid:h send\r\na=rid:f send\r\n')
      .replace('a=simulcast:send h;l', 'a=simulcast:send q;h;f');
    const o = sanitizeOffer(threeLayers, ['vp8', 'opus']);
    expect(o.media[1]!.rids).toEqual(['f', 'h', 'q']);
    expect(o.sdp).toContain('a=simulcast:send q;h;f'); // the SDP itself is left in the offer's order
  });

  it('drops SSRC lines of a simulcast section (layers are routed by rid)', () => {
    const firefoxLike = chromeOffer.replace('a=rid:h send max-width=1280', 'a=ssrc:5555 cname:x\r\na=ssrc:6666 cname:x\r\na=rid:h send');
    const o = sanitizeOffer(firefoxLike, ['vp8', 'opus']);
    expect(o.sdp).not.toContain('a=ssrc:5555');
    expect(o.sdp).toContain('a=ssrc:1111 cname:x'); // the audio section keeps its SSRC
    expect(o.media[1]!.rids).toEqual(['h', 'l']);
  });

  it('follows the offer order, and prefers constrained baseline H.264', () => {
    expect(sanitizeOffer(chromeOffer, ['h264', 'vp8', 'opus']).media[1]!.codec?.name).toBe('vp8');
    const h = sanitizeOffer(chromeOffer, ['h264', 'opus']).media[1]!.codec!;
    expect(h.name).toBe('h264');
    expect(h.payloadType).toBe(127);
    expect(sanitizeOffer(chromeOffer, ['vp9', 'opus']).media[1]!.codec?.payloadType).toBe(98);
  });

  it.each([
    ['not SDP', 'hello world'],
    ['empty', ''],
    ['a number', 7],
    ['no media', 'v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n'],
  ])('rejects %s with bad-sdp', (_name, sdp) => {
    expect(() => sanitizeOffer(sdp, ['vp8', 'opus'])).toThrow(LecternError);
    try {
      sanitizeOffer(sdp, ['vp8', 'opus']);
    } catch (e) {
      expect((e as LecternError).code).toBe('bad-sdp');
    }
  });

  it('rejects a section with no codec the group allows', () => {
    try {
      sanitizeOffer(chromeOffer, ['opus']);
      expect.unreachable();
    } catch (e) {
      expect((e as LecternError).code).toBe('bad-sdp');
      expect((e as Error).message).toContain('video');
    }
  });
});

describe('bestLayerFirst', () => {
  it("ranks f, h, m, q, l (Chrome's full/half/quarter and Galène's high/low)", () => {
    expect(bestLayerFirst(['l', 'h'])).toEqual(['h', 'l']);
    expect(bestLayerFirst(['h', 'l'])).toEqual(['h', 'l']);
    expect(bestLayerFirst(['q', 'h', 'f'])).toEqual(['f', 'h', 'q']);
  });

  it("keeps the offer's order when any name is unknown", () => {
    expect(bestLayerFirst(['0', '1', '2'])).toEqual(['0', '1', '2']);
    expect(bestLayerFirst(['q', 'toString'])).toEqual(['q', 'toString']);
  });
});
