import { describe, expect, it } from 'vitest';
import { datagramKind, datagramProblem, handshakeFragmentProblem, MAX_HANDSHAKE_BYTES, rtcpCompoundProblem } from './datagramShape.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** A STUN binding request with one USERNAME attribute of `value` (padded), its length field `length`. */
function stun(value: string, length?: number): Buffer {
  const v = Buffer.from(value);
  const padded = Buffer.concat([v, Buffer.alloc((4 - (v.length % 4)) % 4)]);
  const attr = Buffer.alloc(4);
  attr.writeUInt16BE(0x0006, 0);
  attr.writeUInt16BE(v.length, 2);
  const head = hex('0001 0000 2112a442 000102030405060708090a0b');
  head.writeUInt16BE(length ?? 4 + padded.length, 2);
  return Buffer.concat([head, attr, padded]);
}

/** A DTLS record of `type` and `epoch` around `body`. */
function dtls(type: number, body: Buffer, epoch = 0): Buffer {
  const h = Buffer.alloc(13);
  h[0] = type;
  h[1] = 0xfe;
  h[2] = 0xfd;
  h.writeUInt16BE(epoch, 3);
  h.writeUInt16BE(body.length, 11);
  return Buffer.concat([h, body]);
}

/** A handshake fragment header + `fragment` bytes: message length, offset, fragment length. */
function fragment(length: number, offset: number, fragmentLength: number, bytes = fragmentLength): Buffer {
  const h = Buffer.alloc(12);
  h[0] = 1;
  h.writeUIntBE(length, 1, 3);
  h.writeUIntBE(offset, 6, 3);
  h.writeUIntBE(fragmentLength, 9, 3);
  return Buffer.concat([h, Buffer.alloc(bytes)]);
}

describe('datagramKind (RFC 7983)', () => {
  it.each([
    ['STUN', '0001', 'stun'],
    ['DTLS', '16fe', 'dtls'],
    ['RTP', '8060', 'rtp'],
    ['RTCP (SR)', '80c8', 'rtcp'],
    ['RTCP (PSFB)', '81ce', 'rtcp'],
    ['TURN channel data', '4000', undefined],
    ['empty', '', undefined],
  ])('%s', (_name, bytes, kind) => {
    expect(datagramKind(hex(bytes))).toBe(kind);
  });
});

describe('datagramProblem', () => {
  it.each([
    ['the reported datagram: extension block of 0xFFFF words in 55 bytes', `906f00000000000000000000bedeffff${'00'.repeat(39)}`, /extension runs past/],
    ['the same with 0x11 bytes', `906f00000000000000000000bedeffff${'11'.repeat(39)}`, /extension runs past/],
    ['RTP shorter than its header', '80600000', /shorter/],
    ['RTP version 1 (outside the RTP range)', `406f${'00'.repeat(10)}`, /not STUN, DTLS, RTP or RTCP/],
    ['CSRC count past the end', `8f6f${'00'.repeat(10)}${'00'.repeat(8)}`, /CSRC/],
    ['a one-byte element past its block', `906f${'00'.repeat(10)}bede0001 3f000000`, /past its block/],
    ['17 one-byte elements', `906f${'00'.repeat(10)}bede0011 ${'1000'.repeat(17)}${'00'.repeat(34)}`, /too many/],
    ['RTCP with a length past the end', '80c80010 00000000', /past the datagram/],
    ['RTCP of an unknown type', '80d00001 00000000', /unknown packet type/],
    ['nothing WebRTC sends', 'ff00ff00', /not STUN/],
  ])('rejects %s', (_name, bytes, problem) => {
    expect(datagramProblem(hex(bytes))).toMatch(problem);
  });

  it.each([
    ['RTP without extension', `8060${'00'.repeat(10)}${'ab'.repeat(20)}`],
    ['RTP with a TWCC one-byte element and padding', `9060${'00'.repeat(10)}bede0001 41000500 ${'ab'.repeat(20)}`],
    ['RTP with the one-byte terminator id 15', `9060${'00'.repeat(10)}bede0002 f0${'11'.repeat(7)} ${'ab'.repeat(4)}`],
    ['RTP with a two-byte element', `9060${'00'.repeat(10)}10000001 0102abcd`],
    ['RTP with another profile (one opaque block)', `9060${'00'.repeat(10)}abcd0001 ffffffff`],
    ['RTP with two CSRCs', `8260${'00'.repeat(10)}${'00'.repeat(8)}ab`],
    ['SRTCP: an RR, the E flag and index, a tag', `81c90007 ${'00'.repeat(28)} 80000001 ${'00'.repeat(10)}`],
  ])('accepts %s', (_name, bytes) => {
    expect(datagramProblem(hex(bytes))).toBeUndefined();
  });

  it('STUN: the length field must be the rest of the datagram, attributes whole', () => {
    expect(datagramProblem(stun('abcd:efgh'))).toBeUndefined();
    expect(datagramProblem(stun('abcd:efgh', 8))).toMatch(/length does not match/);
    const cut = stun('abcd:efgh');
    cut.writeUInt16BE(200, 22); // the attribute claims 200 bytes
    expect(datagramProblem(cut)).toMatch(/attribute runs past/);
    const noCookie = stun('abcd');
    noCookie.writeUInt32BE(0, 4);
    expect(datagramProblem(noCookie)).toMatch(/cookie/);
  });

  it('DTLS: whole records, and plain handshake fragments inside their message', () => {
    expect(datagramProblem(dtls(22, fragment(100, 0, 100)))).toBeUndefined();
    expect(datagramProblem(Buffer.concat([dtls(22, fragment(300, 0, 100)), dtls(22, fragment(300, 100, 200))]))).toBeUndefined();
    expect(datagramProblem(dtls(22, fragment(0xffffff, 0xfffffe, 1)))).toMatch(/too long/);
    expect(datagramProblem(dtls(22, fragment(100, 90, 20)))).toMatch(/outside its message/);
    expect(datagramProblem(dtls(22, fragment(100, 0, 100, 50)))).toMatch(/runs past its record/);
    expect(datagramProblem(dtls(23, Buffer.alloc(40)).subarray(0, 30))).toMatch(/runs past the datagram/);
    expect(datagramProblem(dtls(24, Buffer.alloc(4)))).toMatch(/unknown record type/);
    // encrypted handshake records (epoch 1) are opaque here: their MAC is checked before they are read
    expect(datagramProblem(dtls(22, Buffer.alloc(48, 0xff), 1))).toBeUndefined();
    const many = Buffer.concat(Array.from({ length: 17 }, () => dtls(20, Buffer.from([1]))));
    expect(datagramProblem(many)).toMatch(/too many records/);
  });
});

describe('handshakeFragmentProblem', () => {
  it('bounds the message and keeps the fragment inside it', () => {
    expect(handshakeFragmentProblem(MAX_HANDSHAKE_BYTES, 0, MAX_HANDSHAKE_BYTES)).toBeUndefined();
    expect(handshakeFragmentProblem(MAX_HANDSHAKE_BYTES + 1, 0, 1)).toMatch(/too long/);
    expect(handshakeFragmentProblem(10, 5, 6)).toMatch(/outside/);
    expect(handshakeFragmentProblem(0, 0, 0)).toBeUndefined();
  });
});

describe('rtcpCompoundProblem (decrypted compound RTCP)', () => {
  it.each([
    ['an RR then a PLI', '81c90007 ' + '00'.repeat(28) + '81ce0002 ' + '00'.repeat(8), undefined],
    ['a second packet running past the end', '81c90007 ' + '00'.repeat(28) + '81ce0009 ' + '00'.repeat(8), /past the compound/],
    ['a truncated header', '81c90001 00000000 81', /truncated/],
    ['version 0', '01c90001 00000000', /version/],
    ['padding longer than its packet', 'a1c90001 000000ff', /padding/],
    ['nothing', '', undefined],
  ])('%s', (_name, bytes, problem) => {
    const p = rtcpCompoundProblem(hex(bytes));
    if (problem) expect(p).toMatch(problem);
    else expect(p).toBeUndefined();
  });
});
