import nacl from 'tweetnacl';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { startLoopbackStun, type LoopbackStun } from '../../test/helpers/loopbackStun.js';
import { connectedPeerPair } from '../../test/helpers/mediaSource.js';
import { installNativeX25519, nativeBoxKeyPair, nativeScalarMult } from './nativeX25519.js';

// tweetnacl's own functions, captured before installing (scalarMult.base is never replaced)
const original = { scalarMult: nacl.scalarMult, boxKeyPair: nacl.box.keyPair, base: nacl.scalarMult.base };
installNativeX25519();
installNativeX25519(); // idempotent

const hex = (s: string) => Uint8Array.from(Buffer.from(s, 'hex'));
const toHex = (u: Uint8Array) => Buffer.from(u).toString('hex');

describe('installNativeX25519', () => {
  it('replaces both functions once and keeps their properties', () => {
    expect(nacl.scalarMult).not.toBe(original.scalarMult);
    expect(nacl.box.keyPair).not.toBe(original.boxKeyPair);
    expect(nacl.scalarMult.base).toBe(original.base);
    expect(nacl.scalarMult.scalarLength).toBe(32);
    expect(nacl.scalarMult.groupElementLength).toBe(32);
    expect(typeof nacl.box.keyPair.fromSecretKey).toBe('function');
  });

  it('passes the RFC 7748 §5.2 test vectors', () => {
    expect(
      toHex(
        nacl.scalarMult(
          hex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'),
          hex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c'),
        ),
      ),
    ).toBe('c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552');
    expect(
      toHex(
        nacl.scalarMult(
          hex('4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d'),
          hex('e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493'),
        ),
      ),
    ).toBe('95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957');
    // the iterated vector: k = u = 9, then (k, u) <- (X25519(k, u), k)
    let k: Uint8Array = new Uint8Array(32);
    k[0] = 9;
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= 1000; i++) {
      const r = nacl.scalarMult(k, u);
      u = k;
      k = r;
      if (i === 1) expect(toHex(k)).toBe('422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079');
    }
    expect(toHex(k)).toBe('684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51');
  });

  it('passes the RFC 7748 §6.1 Diffie-Hellman vectors', () => {
    const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    const alicePub = '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a';
    const bobPriv = hex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb');
    const bobPub = 'de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f';
    const shared = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    const nine = new Uint8Array(32);
    nine[0] = 9;
    expect(toHex(nacl.scalarMult(alicePriv, nine))).toBe(alicePub);
    expect(toHex(nacl.scalarMult(bobPriv, nine))).toBe(bobPub);
    expect(toHex(nacl.scalarMult(alicePriv, hex(bobPub)))).toBe(shared);
    expect(toHex(nacl.scalarMult(bobPriv, hex(alicePub)))).toBe(shared);
  });

  it('computes the vectors on the native path itself, not through the fallback', () => {
    const nine = new Uint8Array(32);
    nine[0] = 9;
    const alicePriv = hex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a');
    expect(toHex(nativeScalarMult(alicePriv, nine))).toBe(
      '8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a',
    );
    expect(
      toHex(nativeScalarMult(alicePriv, hex('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'))),
    ).toBe('4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742');
    const pair = nativeBoxKeyPair();
    expect(toHex(pair.publicKey)).toBe(toHex(original.base(pair.secretKey)));
    // and the native path does refuse a low-order point, which is why the fallback exists
    expect(() => nativeScalarMult(pair.secretKey, new Uint8Array(32))).toThrow();
  });

  it('returns plain Uint8Array(32)s that own their buffers, as tweetnacl does', () => {
    const pair = nacl.box.keyPair();
    for (const key of [pair.secretKey, pair.publicKey]) {
      expect(Object.getPrototypeOf(key)).toBe(Uint8Array.prototype);
      expect(key.length).toBe(32);
      // werift reads them as Buffer.from(key.buffer)
      expect(key.buffer.byteLength).toBe(32);
      expect(key.byteOffset).toBe(0);
    }
    const secret = nacl.scalarMult(pair.secretKey, nacl.box.keyPair().publicKey);
    expect(Object.getPrototypeOf(secret)).toBe(Uint8Array.prototype);
    expect(secret.length).toBe(32);
    expect(secret.buffer.byteLength).toBe(32);
  });

  it('makes key pairs whose public key is tweetnacl’s scalarMult.base(secretKey)', () => {
    for (let i = 0; i < 20; i++) {
      const pair = nacl.box.keyPair();
      expect(toHex(pair.publicKey)).toBe(toHex(original.base(pair.secretKey)));
    }
  });

  it('agrees with tweetnacl on a shared secret computed on each side', () => {
    for (let i = 0; i < 20; i++) {
      const native = nacl.box.keyPair();
      const js = original.boxKeyPair();
      const nativeSide = nacl.scalarMult(native.secretKey, js.publicKey);
      const jsSide = original.scalarMult(js.secretKey, native.publicKey);
      expect(toHex(nativeSide)).toBe(toHex(jsSide));
      expect(toHex(nativeSide)).not.toBe('0'.repeat(64));
    }
  });

  it('agrees with tweetnacl when given back its own secret key the way werift wraps it', () => {
    for (let i = 0; i < 20; i++) {
      const pair = nacl.box.keyPair();
      const peer = original.boxKeyPair();
      const asWerift = Buffer.from(pair.secretKey.buffer); // namedCurve.ts generateKeyPair
      const secret = nacl.scalarMult(asWerift, peer.publicKey);
      expect(toHex(secret)).toBe(toHex(original.scalarMult(peer.secretKey, pair.publicKey)));
      expect(toHex(nativeScalarMult(asWerift, peer.publicKey))).toBe(toHex(secret));
    }
    // a key changed after it was made is not taken for the one remembered
    const pair = nacl.box.keyPair();
    const peer = original.boxKeyPair();
    pair.secretKey[5] = (pair.secretKey[5] ?? 0) ^ 0x40;
    expect(toHex(nacl.scalarMult(pair.secretKey, peer.publicKey))).toBe(
      toHex(original.scalarMult(pair.secretKey, peer.publicKey)),
    );
  });

  it('falls back to tweetnacl for a low-order point instead of throwing', () => {
    const sk = nacl.box.keyPair().secretKey;
    const zero = new Uint8Array(32);
    expect(() => nacl.scalarMult(sk, zero)).not.toThrow();
    expect(toHex(nacl.scalarMult(sk, zero))).toBe(toHex(original.scalarMult(sk, zero)));
    // another low-order point: u = 1 (order 4)
    const one = new Uint8Array(32);
    one[0] = 1;
    expect(toHex(nacl.scalarMult(sk, one))).toBe(toHex(original.scalarMult(sk, one)));
  });

  it('leaves bad inputs to tweetnacl, with its errors', () => {
    const sk = nacl.box.keyPair().secretKey;
    expect(() => nacl.scalarMult(sk, new Uint8Array(31))).toThrow('bad p size');
    expect(() => nacl.scalarMult(new Uint8Array(33), sk)).toThrow('bad n size');
  });
});

describe('werift’s DTLS handshake', () => {
  let stun: LoopbackStun;
  beforeAll(async () => {
    stun = await startLoopbackStun();
  });
  afterAll(async () => {
    await stun?.close();
  });

  it('goes through the installed X25519 and connects', { timeout: 20_000 }, async () => {
    const installed = { scalarMult: nacl.scalarMult, keyPair: nacl.box.keyPair };
    const calls = { scalarMult: 0, keyPair: 0 };
    nacl.scalarMult = Object.assign(
      (n: Uint8Array, p: Uint8Array) => {
        calls.scalarMult++;
        return installed.scalarMult(n, p);
      },
      installed.scalarMult,
    );
    nacl.box.keyPair = Object.assign(() => {
      calls.keyPair++;
      return installed.keyPair();
    }, installed.keyPair);

    let peers: [RTCPeerConnection, RTCPeerConnection] | undefined;
    try {
      peers = await connectedPeerPair(stun.port, 'x25519');
      const [a, b] = peers;
      expect(a.connectionState).toBe('connected');
      expect(b.connectionState).toBe('connected');
      // one key pair and one premaster secret on each side
      expect(calls.keyPair).toBeGreaterThanOrEqual(2);
      expect(calls.scalarMult).toBeGreaterThanOrEqual(2);
    } finally {
      nacl.scalarMult = installed.scalarMult;
      nacl.box.keyPair = installed.keyPair;
      await Promise.allSettled((peers ?? []).map((p) => p.close()));
    }
  });
});
