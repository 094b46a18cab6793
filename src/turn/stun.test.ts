import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkRestUsername, mintRestCredential, restPassword } from './credentials.js';
import {
  Attr, Class, Method, checkIntegrity, crc32, decodeXorAddress, encodeChannelData, encodeStun, encodeXorAddress, fingerprintOk,
  frameLength, getAttr, longTermKey, parseStun, u32,
} from './stun.js';

describe('STUN codec', () => {
  it('round-trips an Allocate request with MESSAGE-INTEGRITY that verifies only with the right key', () => {
    const tid = randomBytes(12);
    const key = longTermKey('123:alice', 'lectern', 'pw');
    const b = encodeStun(Method.Allocate, Class.Request, tid, [[Attr.RequestedTransport, u32(17 << 24)], [Attr.Username, Buffer.from('123:alice')]], key);
    const m = parseStun(b)!;
    expect(m).toMatchObject({ method: Method.Allocate, cls: Class.Request });
    expect(m.tid.equals(tid)).toBe(true);
    expect(getAttr(m, Attr.Username)?.toString()).toBe('123:alice');
    expect(checkIntegrity(m, key)).toBe(true);
    expect(checkIntegrity(m, longTermKey('123:alice', 'lectern', 'other'))).toBe(false);
    const tampered = Buffer.from(b);
    tampered[tampered.length - 1]! ^= 1;
    expect(checkIntegrity(parseStun(tampered)!, key)).toBe(false);
  });

  it('encodes method and class bits as RFC 8489 does (Allocate success 0x0103, Data indication 0x0017)', () => {
    expect(encodeStun(Method.Allocate, Class.Success, randomBytes(12), []).readUInt16BE(0)).toBe(0x0103);
    expect(encodeStun(Method.Data, Class.Indication, randomBytes(12), []).readUInt16BE(0)).toBe(0x0017);
    expect(encodeStun(Method.ChannelBind, Class.Error, randomBytes(12), []).readUInt16BE(0)).toBe(0x0119);
  });

  it('XOR addresses: RFC 5769 test vector 2.2 (192.0.2.1:32853)', () => {
    const v = Buffer.from('0001a147e112a643', 'hex');
    expect(decodeXorAddress(v)).toEqual({ ip: '192.0.2.1', port: 32853 });
    expect(encodeXorAddress({ ip: '192.0.2.1', port: 32853 }).equals(v)).toBe(true);
    expect(decodeXorAddress(Buffer.alloc(20))).toBeUndefined();
  });

  it('CRC-32 (check value of "123456789") and FINGERPRINT: a matching one passes, a flipped bit fails', () => {
    expect(crc32(Buffer.from('123456789'))).toBe(0xcbf43926);
    const body = encodeStun(Method.Binding, Class.Request, randomBytes(12), [[Attr.Software, Buffer.from('test')]]);
    const withFp = Buffer.concat([body, Buffer.alloc(8)]);
    withFp.writeUInt16BE(withFp.length - 20, 2);
    withFp.writeUInt16BE(Attr.Fingerprint, body.length);
    withFp.writeUInt16BE(4, body.length + 2);
    withFp.writeUInt32BE((crc32(withFp.subarray(0, body.length)) ^ 0x5354554e) >>> 0, body.length + 4);
    expect(fingerprintOk(parseStun(withFp)!)).toBe(true);
    withFp[withFp.length - 1]! ^= 1;
    expect(fingerprintOk(parseStun(withFp)!)).toBe(false);
  });

  it('drops malformed messages without throwing', () => {
    const good = encodeStun(Method.Binding, Class.Request, randomBytes(12), [[Attr.Software, Buffer.from('x')]]);
    expect(parseStun(good)).toBeDefined();
    expect(parseStun(good.subarray(0, 19))).toBeUndefined();
    const badLen = Buffer.from(good);
    badLen.writeUInt16BE(1000, 2);
    expect(parseStun(badLen)).toBeUndefined();
    const badAttr = Buffer.from(good);
    badAttr.writeUInt16BE(200, 22);
    expect(parseStun(badAttr)).toBeUndefined();
    const badCookie = Buffer.from(good);
    badCookie[4] = 0;
    expect(parseStun(badCookie)).toBeUndefined();
    for (let i = 0; i < 2000; i++) {
      const b = randomBytes(1 + (i % 120));
      if (i % 2) b[0] = 0;
      expect(() => parseStun(b)).not.toThrow();
    }
  });

  it('frames ChannelData over TCP padded to four bytes', () => {
    const f = encodeChannelData(0x4001, Buffer.from([1, 2, 3, 4, 5]), true);
    expect(f.length).toBe(12);
    expect(frameLength(f, true)).toBe(12);
    expect(frameLength(encodeChannelData(0x4001, Buffer.from([1, 2, 3, 4, 5]), false), false)).toBe(9);
    expect(frameLength(Buffer.from([0x80, 0, 0, 0]), true)).toBeUndefined();
  });
});

describe('TURN REST credentials', () => {
  const secret = Buffer.from('s3cret');
  it('mints expiry:user with base64(HMAC-SHA1(secret, username)), as coturn checks it', () => {
    const c = mintRestCredential(secret, 'alice', 86_400, 1_000_000_000_000);
    expect(c.username).toBe('1000086400:alice');
    expect(c.credential).toBe(restPassword(secret, c.username));
    expect(Buffer.from(c.credential, 'base64')).toHaveLength(20);
    expect(checkRestUsername(secret, c.username, 1_000_000_000_000)).toEqual({ password: c.credential });
  });
  it('refuses an expired or malformed username', () => {
    expect(checkRestUsername(secret, '999:alice', 1_000_000)).toEqual({ refused: 'credential expired' });
    expect(checkRestUsername(secret, 'alice', 0)).toHaveProperty('refused');
    expect(checkRestUsername(Buffer.from('other'), '5000:alice', 0)).not.toEqual({ password: restPassword(secret, '5000:alice') });
  });
});
