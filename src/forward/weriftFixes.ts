import { installDtlsKeyCache } from './dtlsKeyCache.js';
import { installDtlsSignatureCheck } from './dtlsSignatureCheck.js';
import { installPacketGuards } from './guard/packetGuards.js';
import { installNativeX25519 } from './nativeX25519.js';
import { installBoundedStunRequestIds } from './stunRequestIds.js';

/**
 * What the server changes in werift at run time, in the main thread, in every forwarding thread (each thread
 * has its own werift module) and in the job worker (its live-HLS WHEP subscriber). Idempotent. Install-time patches are in
 * scripts/patch-werift.mjs.
 */
export function installWeriftFixes(): void {
  installNativeX25519(); // ECDHE with node's X25519, not tweetnacl (nativeX25519.ts)
  installDtlsKeyCache(); // certificate and key parsed once, signatures with a KeyObject (dtlsKeyCache.ts)
  installDtlsSignatureCheck(); // the peer must prove it holds its certificate's key (dtlsSignatureCheck.ts)
  installPacketGuards(); // no unauthenticated or malformed datagram reaches werift's parsers (guard/packetGuards.ts)
  installBoundedStunRequestIds(); // a pair forgets old STUN transaction ids (stunRequestIds.ts)
}
