/**
 * Native X25519 for werift's DTLS handshakes.
 *
 * Why: werift (pure JavaScript) negotiates X25519 first for the ECDHE of every DTLS handshake and does it
 * with tweetnacl, also pure JavaScript: one key pair generation plus one scalar multiplication, ~5.6 ms of
 * CPU per viewer on the server. In a burst of joins (see NOTES.md, "Burst joins") that blocks the event
 * loop for whole seconds. node:crypto does the same X25519 in OpenSSL's native code.
 *
 * How: `installNativeX25519()` replaces `nacl.box.keyPair` and `nacl.scalarMult` on the shared tweetnacl
 * module object with functions built on node:crypto that return the same types and values (fresh
 * `Uint8Array(32)`s). tweetnacl is CommonJS, so every importer (werift's ESM bundle and its CJS files alike)
 * holds the same `module.exports` object and sees the replacement; node_modules is not patched. The
 * originals are kept: anything but a 32-byte scalar and a 32-byte point goes to them, and so does any call
 * the native path refuses (OpenSSL throws on an all-zero shared secret from a low-order point, where
 * tweetnacl returns zeros), so werift's behaviour never changes, only its speed.
 *
 * Relies on werift 0.24.4 calling both functions through the module object at call time, not on copies
 * taken at import: `node_modules/werift/lib/index.mjs` does `import nacl from "tweetnacl"` and calls
 * `nacl.scalarMult(privateKey, publicKey)` in `prfPreMasterSecret` (../dtls/src/cipher/prf.ts) and
 * `nacl2.box.keyPair()` in `generateKeyPair` (../dtls/src/cipher/namedCurve.ts); the CJS build does the
 * same in lib/dtls/src/cipher/prf.js and namedCurve.js. Note that `generateKeyPair` reads the keys as
 * `Buffer.from(keys.secretKey.buffer)`, so each key must own an ArrayBuffer of exactly 32 bytes (a slice of
 * Node's Buffer pool would not do): we copy into new Uint8Arrays. The same wrapping lets `scalarMult` find
 * the KeyObject of a key pair it made (a WeakMap by ArrayBuffer) instead of re-importing the scalar from
 * DER, which costs more than the X25519 itself. Re-check these call sites when upgrading werift or tweetnacl.
 */
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';

/** DER (PKCS#8) of an X25519 private key, before its 32 raw bytes (RFC 8410 §7). */
const PKCS8_X25519_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

type ScalarMult = typeof nacl.scalarMult;
type BoxKeyPair = typeof nacl.box.keyPair;

/** Marks the installed scalarMult (Symbol.for, so that a second copy of this module sees it too). */
const marker = Symbol.for('lectern.nativeX25519');

/** A Uint8Array(32) with its own 32-byte ArrayBuffer, as tweetnacl returns. */
function own32(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  out.set(bytes);
  return out;
}

/**
 * The KeyObject behind each secret key that `nativeBoxKeyPair` handed out, by the key's ArrayBuffer: werift
 * wraps that buffer (`Buffer.from(keys.secretKey.buffer)`) and passes it back to `scalarMult`, so the
 * shared-secret step skips importing the private key from DER, which costs several times the X25519 itself
 * (OpenSSL 3's decoders). Weak, so an entry lives as long as werift keeps the key.
 */
const privateKeys = new WeakMap<ArrayBufferLike, { bytes: Buffer; key: KeyObject }>();

function privateKeyObject(n: Uint8Array): KeyObject {
  const known = privateKeys.get(n.buffer);
  if (known !== undefined && n.byteOffset === 0 && n.byteLength === 32 && known.bytes.equals(n)) return known.key;
  return createPrivateKey({ key: Buffer.concat([PKCS8_X25519_PREFIX, n]), format: 'der', type: 'pkcs8' });
}

/** X25519(n, p) in node:crypto, with no fallback: throws where OpenSSL refuses (exported for tests). */
export function nativeScalarMult(n: Uint8Array, p: Uint8Array): Uint8Array {
  const privateKey = privateKeyObject(n);
  // The peer's point as a JWK (RFC 8037): a documented raw import, several times cheaper than DER (SPKI).
  const publicKey = createPublicKey({
    key: { kty: 'OKP', crv: 'X25519', x: Buffer.from(p.buffer, p.byteOffset, 32).toString('base64url') },
    format: 'jwk',
  });
  const secret = diffieHellman({ privateKey, publicKey });
  if (secret.length !== 32) throw new Error(`X25519 shared secret of ${secret.length} bytes`);
  return own32(secret);
}

/** A fresh X25519 key pair from node:crypto, with no fallback (exported for tests). */
export function nativeBoxKeyPair(): nacl.BoxKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const d = privateKey.export({ format: 'jwk' }).d;
  const x = publicKey.export({ format: 'jwk' }).x;
  if (d === undefined || x === undefined) throw new Error('X25519 JWK without d or x');
  const secretBytes = Buffer.from(d, 'base64url');
  const publicBytes = Buffer.from(x, 'base64url');
  if (secretBytes.length !== 32 || publicBytes.length !== 32) throw new Error('X25519 key of unexpected length');
  const secretKey = own32(secretBytes);
  privateKeys.set(secretKey.buffer, { bytes: Buffer.from(secretKey), key: privateKey });
  return { publicKey: own32(publicBytes), secretKey };
}

/**
 * Makes tweetnacl's `box.keyPair()` and `scalarMult(n, p)` use node:crypto's X25519, for werift's DTLS.
 * Idempotent. Same inputs, outputs and errors as before; see the file comment.
 */
export function installNativeX25519(): void {
  const current = nacl.scalarMult as ScalarMult & { [marker]?: true };
  if (current[marker]) return;

  const origScalarMult = nacl.scalarMult;
  const origKeyPair = nacl.box.keyPair;

  const scalarMult = function scalarMult(n: Uint8Array, p: Uint8Array): Uint8Array {
    if (n instanceof Uint8Array && p instanceof Uint8Array && n.length === 32 && p.length === 32) {
      try {
        return nativeScalarMult(n, p);
      } catch {
        // e.g. a low-order point: OpenSSL refuses the all-zero secret, tweetnacl returns it
      }
    }
    return origScalarMult(n, p);
  };
  // keep scalarMult.base, scalarLength and groupElementLength (the originals)
  Object.assign(scalarMult, origScalarMult, { [marker]: true });

  const keyPair = function keyPair(): nacl.BoxKeyPair {
    try {
      return nativeBoxKeyPair();
    } catch {
      return origKeyPair();
    }
  };
  // keep keyPair.fromSecretKey (the original)
  Object.assign(keyPair, origKeyPair);

  nacl.scalarMult = scalarMult as ScalarMult;
  nacl.box.keyPair = keyPair as BoxKeyPair;
}
