/**
 * Parse the DTLS certificate and private key once, not once per handshake (werift 0.24.4).
 *
 * Why: every werift DTLS socket (one per viewer connection) builds a `CipherContext`, whose `parseX509`
 * parses the same certificate and key PEMs again in pure JavaScript (@fidm/x509); the server's
 * ServerKeyExchange signature (`generateKeySignature` -> @fidm `PrivateKey.sign`) and a client's
 * CertificateVerify (`signatureData`) then hand the key to node:crypto as a PEM string, which OpenSSL 3
 * decodes again for every signature (~1.3 ms of CPU per handshake on the server, more than the ECDSA
 * signature itself); and `RTCCertificate.getFingerprints`, read for every SDP the connection writes, parses
 * the certificate PEM again to hash it. See NOTES.md, "Burst joins".
 *
 * How: `installDtlsKeyCache()` wraps three methods on werift's exported classes (the ESM bundle this
 * project imports; node_modules is not patched):
 * - `CipherContext.prototype.parseX509(certPem, keyPem, hash)`: the first call for a (certPem, keyPem) pair
 *   runs the original and keeps its results (the DER certificate buffer and the @fidm `PrivateKey`) with a
 *   node:crypto `KeyObject` of the key; later calls for the same strings set the same three fields as the
 *   original does, from that cache. At most `MAX_KEYS` pairs are kept (a process has one or two).
 * - The cached `PrivateKey` gets its own `sign(data, hash)`, which signs with the KeyObject: the same
 *   `createSign(hash).update(data).sign(key)` @fidm does for EC and RSA keys, without the PEM decoding.
 *   Other key types (Ed25519 and Ed448, which @fidm signs its own way) keep @fidm's method.
 * - `CipherContext.prototype.signatureData(data, hash)`: the same, when the context's key is a cached one.
 * - `RTCCertificate.prototype.getFingerprints()`: remembers the fingerprint per certificate object (and
 *   its `certPem`, so a changed certificate is hashed again) and returns fresh `RTCDtlsFingerprint`s.
 * Results are the same as before: ECDSA signatures are randomised, so tests verify them with the public key.
 * Idempotent. Re-check these methods when upgrading werift.
 */
import { createPrivateKey, createSign, type KeyObject } from 'node:crypto';
import { CipherContext, RTCCertificate, RTCDtlsFingerprint } from 'werift';

/** How many (certificate, key) PEM pairs the cache holds; the oldest is dropped beyond this. */
export const MAX_KEYS = 8;

/** The part of @fidm/x509's PrivateKey that werift uses. */
interface FidmPrivateKey {
  sign(data: Buffer, hashAlgorithm: string): Buffer;
  toPEM(): string;
}

interface ParsedPair {
  cert: Buffer;
  key: FidmPrivateKey;
}

/** The werift fields `parseX509` sets (declared on CipherContext, partly private in its typings). */
interface CipherFields {
  localCert: Buffer;
  localPrivateKey: FidmPrivateKey;
  signatureHashAlgorithm: unknown;
}

const marker = Symbol.for('lectern.dtlsKeyCache');
const parsed = new Map<string, ParsedPair>();
/** The KeyObject of each cached @fidm PrivateKey whose signatures we make. */
const keyObjects = new WeakMap<object, KeyObject>();

/** For tests: how many (certificate, key) pairs are cached. */
export function cachedKeyCount(): number {
  return parsed.size;
}

function pemText(pem: unknown): string | undefined {
  if (typeof pem === 'string') return pem;
  if (Buffer.isBuffer(pem)) return pem.toString();
  return undefined;
}

/** A KeyObject for keys whose @fidm signature is plain createSign (EC, RSA); undefined otherwise. */
function signingKeyObject(keyPem: string): KeyObject | undefined {
  try {
    const key = createPrivateKey(keyPem);
    return key.asymmetricKeyType === 'ec' || key.asymmetricKeyType === 'rsa' ? key : undefined;
  } catch {
    return undefined;
  }
}

export function installDtlsKeyCache(): void {
  const proto = CipherContext.prototype as unknown as Record<string | symbol, unknown>;
  if (proto[marker]) return;

  const origParse = CipherContext.prototype.parseX509;
  const origSignatureData = CipherContext.prototype.signatureData;
  const origFingerprints = RTCCertificate.prototype.getFingerprints;

  CipherContext.prototype.parseX509 = function parseX509(this: CipherContext, certPem, keyPem, signatureHash) {
    const certText = pemText(certPem);
    const keyText = pemText(keyPem);
    if (certText === undefined || keyText === undefined) return origParse.call(this, certPem, keyPem, signatureHash);
    const cacheKey = `${certText}\u0000${keyText}`;
    const self = this as unknown as CipherFields;
    const known = parsed.get(cacheKey);
    if (known) {
      self.localCert = known.cert;
      self.localPrivateKey = known.key;
      self.signatureHashAlgorithm = signatureHash;
      return;
    }
    origParse.call(this, certPem, keyPem, signatureHash); // throws on a bad PEM, as before; nothing cached
    const pair: ParsedPair = { cert: self.localCert, key: self.localPrivateKey };
    const keyObject = signingKeyObject(keyText);
    if (keyObject) {
      keyObjects.set(pair.key, keyObject);
      Object.defineProperty(pair.key, 'sign', {
        value: (data: Buffer, hashAlgorithm: string): Buffer => createSign(hashAlgorithm).update(data).sign(keyObject),
        configurable: true,
        writable: true,
      });
    }
    if (parsed.size >= MAX_KEYS) parsed.delete(parsed.keys().next().value as string);
    parsed.set(cacheKey, pair);
  };

  CipherContext.prototype.signatureData = function signatureData(this: CipherContext, data, hash) {
    const key = (this as unknown as Partial<CipherFields>).localPrivateKey;
    const keyObject = key ? keyObjects.get(key) : undefined;
    if (keyObject === undefined) return origSignatureData.call(this, data, hash);
    return createSign(hash).update(data).sign(keyObject);
  };

  const fingerprints = new WeakMap<RTCCertificate, { certPem: string; list: RTCDtlsFingerprint[] }>();
  RTCCertificate.prototype.getFingerprints = function getFingerprints(this: RTCCertificate) {
    let known = fingerprints.get(this);
    if (known === undefined || known.certPem !== this.certPem) {
      known = { certPem: this.certPem, list: origFingerprints.call(this) };
      fingerprints.set(this, known);
    }
    return known.list.map((f) => new RTCDtlsFingerprint(f.algorithm, f.value));
  };

  proto[marker] = true;
}
