import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { mintRestCredential } from './credentials.js';
import { TurnServer } from './TurnServer.js';
import { Attr, Class, Method, encodeStun, encodeXorAddress, getAttr, longTermKey, parseStun, u32, type StunMessage } from './stun.js';

/** A real TURN server on loopback that permits peer 127.0.0.1 only, and a raw UDP client speaking to it. */
describe('TurnServer over UDP', () => {
  const secret = randomBytes(20);
  let server: TurnServer;
  let sock: dgram.Socket;

  beforeAll(async () => {
    server = new TurnServer({
      listenIp: '127.0.0.1', port: 0, relayBindIp: '127.0.0.1', relayAnnounceIp: '127.0.0.1', realm: 'lectern', secret,
      allowPeer: (p) => p.ip === '127.0.0.1', limits: { maxAllocationsPerUser: 1 }, log: silentLogger,
    });
    await server.start();
    sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  });
  afterAll(async () => {
    sock.close();
    await server.close();
  });

  function request(method: number, attrs: [number, Buffer][], key?: Buffer, raw?: Buffer): Promise<StunMessage> {
    const tid = randomBytes(12);
    const out = raw ?? encodeStun(method, Class.Request, tid, attrs, key);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('no answer')), 3000);
      const on = (b: Buffer) => {
        const m = parseStun(b);
        if (m && m.tid.equals(tid)) {
          clearTimeout(t);
          sock.off('message', on);
          resolve(m);
        }
      };
      sock.on('message', on);
      sock.send(out, server.port, '127.0.0.1');
    });
  }
  const code = (m: StunMessage) => {
    const e = getAttr(m, Attr.ErrorCode);
    return e ? e[2]! * 100 + e[3]! : 0;
  };

  it('challenges, refuses expired or wrong credentials, allocates with good ones, forbids foreign peers, caps allocations per user', async () => {
    // Garbage first: dropped, the server keeps answering.
    sock.send(randomBytes(57), server.port, '127.0.0.1');
    sock.send(Buffer.from([0, 1, 0, 200, 0x21, 0x12, 0xa4, 0x42, ...randomBytes(12)]), server.port, '127.0.0.1');
    const challenge = await request(Method.Allocate, [[Attr.RequestedTransport, u32(17 << 24)]]);
    expect(code(challenge)).toBe(401);
    const realm = getAttr(challenge, Attr.Realm)!;
    const nonce = getAttr(challenge, Attr.Nonce)!;
    const auth = (user: string, password: string): [[number, Buffer][], Buffer] => [
      [[Attr.RequestedTransport, u32(17 << 24)], [Attr.Username, Buffer.from(user)], [Attr.Realm, realm], [Attr.Nonce, nonce]],
      longTermKey(user, realm.toString(), password),
    ];
    const expired = mintRestCredential(secret, 'a', -10);
    expect(code(await request(Method.Allocate, ...auth(expired.username, expired.credential)))).toBe(401);
    const good = mintRestCredential(secret, 'a', 600);
    expect(code(await request(Method.Allocate, ...auth(good.username, 'wrong')))).toBe(401);
    const [attrs, key] = auth(good.username, good.credential);
    const ok = await request(Method.Allocate, attrs, key);
    expect(ok.cls).toBe(Class.Success);
    expect(getAttr(ok, Attr.XorRelayedAddress)).toBeDefined();
    expect(server.allocationCount).toBe(1);
    const common = attrs.slice(1);
    const perm = (ip: string) => request(Method.CreatePermission, [...common, [Attr.XorPeerAddress, encodeXorAddress({ ip, port: 5000 })]], key);
    expect(code(await perm('192.0.2.9'))).toBe(403);
    expect((await perm('127.0.0.1')).cls).toBe(Class.Success);
    // A second socket, same user: over the per-user cap of 1.
    const other = dgram.createSocket('udp4');
    await new Promise<void>((r) => other.bind(0, '127.0.0.1', () => r()));
    const tid = randomBytes(12);
    const answer = new Promise<StunMessage>((resolve) => other.once('message', (b) => resolve(parseStun(b)!)));
    other.send(encodeStun(Method.Allocate, Class.Request, tid, attrs, key), server.port, '127.0.0.1');
    expect(code(await answer)).toBe(486);
    other.close();
    // Refresh with lifetime 0 frees the allocation.
    expect((await request(Method.Refresh, [...common, [Attr.Lifetime, u32(0)]], key)).cls).toBe(Class.Success);
    expect(server.allocationCount).toBe(0);
  });
});
