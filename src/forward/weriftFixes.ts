import { installDtlsKeyCache } from './dtlsKeyCache.js';
import { installDtlsSignatureCheck } from './dtlsSignatureCheck.js';
import { installNativeX25519 } from './nativeX25519.js';

/**
 * What the server changes in werift's DTLS at run time, in the main thread and in every forwarding thread
 * (each thread has its own werift module). Idempotent. Install-time patches are in scripts/patch-werift.mjs.
 */
export function installWeriftFixes(): void {
  installNativeX25519(); // ECDHE with node's X25519, not tweetnacl (nativeX25519.ts)
  installDtlsKeyCache(); // certificate and key parsed once, signatures with a KeyObject (dtlsKeyCache.ts)
  installDtlsSignatureCheck(); // the peer must prove it holds its certificate's key (dtlsSignatureCheck.ts)
}
