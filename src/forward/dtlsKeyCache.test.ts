import { createHash, createVerify, X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CipherContext,
  HashAlgorithm,
  NamedCurveAlgorithm,
  RTCCertificate,
  RTCDtlsTransport,
  RTCPeerConnection,
  SignatureAlgorithm,
} from 'werift';
import { startLoopbackStun, type LoopbackStun } from '../../test/helpers/loopbackStun.js';
import { connectedPeerPair } from '../../test/helpers/mediaSource.js';
import { cachedKeyCount, installDtlsKeyCache, MAX_KEYS } from './dtlsKeyCache.js';

const original = {
  parseX509: CipherContext.prototype.parseX509,
  signatureData: CipherContext.prototype.signatureData,
  getFingerprints: RTCCertificate.prototype.getFingerprints,
};
installDtlsKeyCache();
installDtlsKeyCache(); // idempotent

const SERVER = 2; // werift's SessionType.SERVER
const ECDSA_SHA256 = { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 };

interface Fields {
  localCert: Buffer;
  localPrivateKey: { sign(data: Buffer, hash: string): Buffer; toPEM(): string };
  signatureHashAlgorithm: unknown;
}
const fields = (c: CipherContext) => c as unknown as Fields;

async function newPair() {
  return CipherContext.createSelfSignedCertificateWithKey(ECDSA_SHA256, NamedCurveAlgorithm.secp256r1_23);
}

function verifies(certPem: string, data: Buffer, signature: Buffer): boolean {
  return createVerify('sha256').update(data).verify(new X509Certificate(certPem).publicKey, signature);
}

describe('installDtlsKeyCache', () => {
  let pair: Awaited<ReturnType<typeof newPair>>;
  beforeAll(async () => {
    pair = await newPair();
  });

  it('replaces the three methods once', () => {
    expect(CipherContext.prototype.parseX509).not.toBe(original.parseX509);
    expect(CipherContext.prototype.signatureData).not.toBe(original.signatureData);
    expect(RTCCertificate.prototype.getFingerprints).not.toBe(original.getFingerprints);
  });

  it('gives every context the certificate and key the original parse gives, parsed once', () => {
    const before = cachedKeyCount();
    const a = new CipherContext(SERVER, pair.certPem, pair.keyPem, ECDSA_SHA256);
    const b = new CipherContext(SERVER, pair.certPem, pair.keyPem, { ...ECDSA_SHA256 });
    expect(cachedKeyCount()).toBe(before + 1);
    // the original, on a bare object
    const reference = {} as Fields;
    original.parseX509.call(reference as unknown as CipherContext, pair.certPem, pair.keyPem, ECDSA_SHA256);
    for (const c of [a, b]) {
      expect(fields(c).localCert.equals(reference.localCert)).toBe(true);
      expect(fields(c).localCert.equals(new X509Certificate(pair.certPem).raw)).toBe(true);
      expect(fields(c).localPrivateKey.toPEM()).toBe(reference.localPrivateKey.toPEM());
    }
    expect(fields(a).localPrivateKey).toBe(fields(b).localPrivateKey);
    // each context keeps the signature algorithm it was given
    expect(fields(b).signatureHashAlgorithm).toEqual(ECDSA_SHA256);
    expect(fields(b).signatureHashAlgorithm).not.toBe(fields(a).signatureHashAlgorithm);
  });

  it('signs ServerKeyExchange parameters verifiably without decoding the PEM again', () => {
    const ctx = new CipherContext(SERVER, pair.certPem, pair.keyPem, ECDSA_SHA256);
    const key = fields(ctx).localPrivateKey;
    let pemReads = 0;
    const toPEM = key.toPEM;
    key.toPEM = function (this: typeof key) {
      pemReads++;
      return toPEM.call(this);
    };
    try {
      // what sendServerKeyExchange signs: client random, server random, curve parameters, public key
      ctx.localRandom = { serialize: () => Buffer.alloc(32, 1) } as unknown as CipherContext['localRandom'];
      ctx.remoteRandom = { serialize: () => Buffer.alloc(32, 2) } as unknown as CipherContext['remoteRandom'];
      ctx.localKeyPair = { publicKey: Buffer.alloc(65, 4), privateKey: Buffer.alloc(32), curve: 23 } as CipherContext['localKeyPair'];
      ctx.namedCurve = NamedCurveAlgorithm.secp256r1_23;
      // RFC 4492 §5.4 ServerECDHParams after the randoms: named_curve (3), secp256r1 (23), point length, point
      const signed = Buffer.concat([
        Buffer.alloc(32, 2), // client random: the remote one, for a DTLS server
        Buffer.alloc(32, 1),
        Buffer.from([3, 0, 23, 65]),
        ctx.localKeyPair.publicKey,
      ]);
      const signature = ctx.generateKeySignature('sha256');
      expect(verifies(pair.certPem, signed, signature)).toBe(true);
      expect(verifies(pair.certPem, Buffer.concat([signed, Buffer.from([0])]), signature)).toBe(false);

      const data = Buffer.from('handshake messages so far');
      const cv = ctx.signatureData(data, 'sha256');
      expect(verifies(pair.certPem, data, cv)).toBe(true);
      expect(pemReads).toBe(0);
    } finally {
      key.toPEM = toPEM;
    }
  });

  it('leaves contexts without a certificate, and bad PEMs, to werift', async () => {
    const bare = new CipherContext(SERVER);
    expect(fields(bare).localCert).toBeUndefined();
    const before = cachedKeyCount();
    expect(() => new CipherContext(SERVER, 'not a certificate', pair.keyPem, ECDSA_SHA256)).toThrow();
    expect(cachedKeyCount()).toBe(before);
    // a context whose key did not come through the cache signs the original way
    const other = await newPair();
    const reference = {} as Fields;
    original.parseX509.call(reference as unknown as CipherContext, other.certPem, other.keyPem, ECDSA_SHA256);
    const data = Buffer.from('x');
    const sig = CipherContext.prototype.signatureData.call(reference as unknown as CipherContext, data, 'sha256');
    expect(verifies(other.certPem, data, sig)).toBe(true);
  });

  it(`keeps at most ${MAX_KEYS} certificate and key pairs`, async () => {
    const pairs = await Promise.all(Array.from({ length: MAX_KEYS + 2 }, () => newPair()));
    for (const p of pairs) new CipherContext(SERVER, p.certPem, p.keyPem, ECDSA_SHA256);
    expect(cachedKeyCount()).toBe(MAX_KEYS);
    // an evicted pair is parsed again and still works
    const first = pairs[0]!;
    const ctx = new CipherContext(SERVER, first.certPem, first.keyPem, ECDSA_SHA256);
    const data = Buffer.from('again');
    expect(verifies(first.certPem, data, ctx.signatureData(data, 'sha256'))).toBe(true);
  });

  it('remembers fingerprints per certificate and returns fresh objects', async () => {
    const cert = new RTCCertificate(pair.keyPem, pair.certPem, ECDSA_SHA256);
    const sha256 = (pem: string) =>
      createHash('sha256').update(new X509Certificate(pem).raw).digest('hex').toUpperCase().match(/../g)!.join(':');
    const f1 = cert.getFingerprints();
    const f2 = cert.getFingerprints();
    expect(f1).toEqual([{ algorithm: 'sha-256', value: sha256(pair.certPem) }]);
    expect(f1).toEqual(original.getFingerprints.call(cert));
    expect(f2).not.toBe(f1);
    expect(f2[0]).not.toBe(f1[0]);
    f2[0]!.value = 'changed by a caller';
    expect(cert.getFingerprints()[0]!.value).toBe(sha256(pair.certPem));
    // a certificate whose PEM changes is hashed again
    const other = await newPair();
    cert.certPem = other.certPem;
    expect(cert.getFingerprints()[0]!.value).toBe(sha256(other.certPem));
  });

  describe('in a real handshake', () => {
    let stun: LoopbackStun;
    beforeAll(async () => {
      stun = await startLoopbackStun();
    });
    afterAll(async () => {
      await stun?.close();
    });

    it('signs ServerKeyExchange and CertificateVerify with the cached key, and connects', { timeout: 20_000 }, async () => {
      // werift's process-wide certificate, which both peers use
      const cert = await RTCDtlsTransport.SetupCertificate();
      const probe = new CipherContext(SERVER, cert.certPem, cert.privateKey, cert.signatureHash);
      const key = fields(probe).localPrivateKey;
      const sign = key.sign;
      const toPEM = key.toPEM;
      const calls = { sign: 0, pem: 0, signatureData: 0 };
      key.sign = (data, hash) => {
        calls.sign++;
        return sign(data, hash);
      };
      key.toPEM = function (this: typeof key) {
        calls.pem++;
        return toPEM.call(this);
      };
      const installedSignatureData = CipherContext.prototype.signatureData;
      CipherContext.prototype.signatureData = function (data, hash) {
        calls.signatureData++;
        return installedSignatureData.call(this, data, hash);
      };
      let peers: [RTCPeerConnection, RTCPeerConnection] | undefined;
      try {
        peers = await connectedPeerPair(stun.port, 'keys');
        const [a, b] = peers;
        expect(a.connectionState).toBe('connected');
        expect(b.connectionState).toBe('connected');
        expect(calls.sign).toBeGreaterThanOrEqual(1); // the DTLS server's ServerKeyExchange
        expect(calls.signatureData).toBeGreaterThanOrEqual(1); // the DTLS client's CertificateVerify
        expect(calls.pem).toBe(0);
      } finally {
        key.sign = sign;
        key.toPEM = toPEM;
        CipherContext.prototype.signatureData = installedSignatureData;
        await Promise.allSettled((peers ?? []).map((p) => p.close()));
      }
    });
  });
});
