/**
 * Check that a DTLS peer holds the private key of the certificate it presents (werift 0.24.4 does not).
 *
 * Why: WebRTC authenticates a peer by the certificate fingerprint in its SDP, which only means something if
 * the handshake proves possession of the certificate's key. werift checks the fingerprint, but never verifies
 * the signatures that prove possession: as DTLS server it ignores the client's CertificateVerify, as DTLS
 * client the ServerKeyExchange signature. The certificate itself travels in clear, so anyone who can inject
 * packets on the media path could replay a participant's certificate with their own key exchange and complete
 * the handshake in their name (publish into the participant's stream, or receive the media meant for them).
 *
 * How: `installDtlsSignatureCheck()` wraps `RTCDtlsTransport.prototype.verifyRemoteCertificateFingerprint`,
 * which werift calls once the handshake is complete and before any SRTP key is used; an exception there
 * already makes werift fail the transport and close the DTLS session. After the original fingerprint check,
 * the wrapper verifies, with the public key of the peer's certificate:
 * - as DTLS server: the client's CertificateVerify, a signature over every handshake message before it
 *   (RFC 5246 7.4.8, in DTLS form: RFC 6347 4.2.6; werift keeps these messages for its Finished);
 * - as DTLS client: the ServerKeyExchange signature over client random + server random + ECDH parameters
 *   (RFC 8422 5.4).
 * Each costs one X.509 parse and one signature check in node:crypto (~0.3 ms of CPU per handshake, measured
 * here). Every werift transport of a process that installs it is covered (in tests, the test peers too).
 * Idempotent. Re-check the field names below when upgrading werift, and drop this once werift verifies these
 * signatures itself.
 */
import { verify, X509Certificate } from 'node:crypto';
import { RTCDtlsTransport } from 'werift';

/** TLS HandshakeType values. */
const SERVER_KEY_EXCHANGE = 12;
const CERTIFICATE_VERIFY = 15;
/** TLS HashAlgorithm values of SignatureAndHashAlgorithm (RFC 5246 7.4.1.4.1). */
const HASHES: Record<number, string> = { 2: 'sha1', 4: 'sha256', 5: 'sha384', 6: 'sha512' };
/** TLS SignatureAlgorithm values and the certificate key type each needs. */
const KEY_TYPES: Record<number, string> = { 1: 'rsa', 3: 'ec' };

/** A handshake message as werift keeps it (`FragmentedHandshake`, assembled). */
export interface HandshakeMessage {
  msg_type: number;
  fragment: Buffer;
  serialize(): Buffer;
}

/** What a signature check needs from a completed handshake. */
export interface CompletedHandshake {
  /** Our role in it. */
  role: 'server' | 'client';
  /** Every handshake message of the session in transcript order. */
  messages: HandshakeMessage[];
  clientRandom: Buffer;
  serverRandom: Buffer;
  /** The peer's certificate, DER. */
  peerCertificate: Buffer;
}

export class DtlsSignatureError extends Error {
  override name = 'DtlsSignatureError';
}

/** Throws a DtlsSignatureError unless the peer's signature in `h` verifies with its certificate's key. */
export function checkPeerSignature(h: CompletedHandshake): void {
  if (h.role === 'server') {
    const at = h.messages.findIndex((m) => m.msg_type === CERTIFICATE_VERIFY);
    const body = h.messages[at]?.fragment;
    if (!body) throw new DtlsSignatureError('DTLS: the client sent no CertificateVerify');
    const signed = Buffer.concat(h.messages.slice(0, at).map((m) => m.serialize()));
    checkSignature(h.peerCertificate, body, 0, signed, 'CertificateVerify');
  } else {
    const message = h.messages.find((m) => m.msg_type === SERVER_KEY_EXCHANGE);
    if (!message) throw new DtlsSignatureError('DTLS: the server sent no ServerKeyExchange');
    const body = message.fragment;
    // ServerECDHParams: curve type (1 byte), named curve (2), public key (1-byte length + bytes)
    if (body.length < 4) throw new DtlsSignatureError('DTLS: ServerKeyExchange too short');
    const paramsEnd = 4 + body.readUInt8(3);
    const signed = Buffer.concat([h.clientRandom, h.serverRandom, body.subarray(0, paramsEnd)]);
    checkSignature(h.peerCertificate, body, paramsEnd, signed, 'ServerKeyExchange');
  }
}

/** Verifies the digitally-signed struct at `body[at..]` (hash, signature algorithm, 2-byte length, bytes). */
function checkSignature(certificate: Buffer, body: Buffer, at: number, signed: Buffer, what: string): void {
  if (body.length < at + 4) throw new DtlsSignatureError(`DTLS: ${what} too short`);
  const hashId = body.readUInt8(at);
  const signatureId = body.readUInt8(at + 1);
  const hash = HASHES[hashId];
  const keyType = KEY_TYPES[signatureId];
  const length = body.readUInt16BE(at + 2);
  const signature = body.subarray(at + 4, at + 4 + length);
  if (signature.length !== length) throw new DtlsSignatureError(`DTLS: ${what} signature truncated`);
  if (!hash || !keyType) {
    throw new DtlsSignatureError(`DTLS: ${what} uses an unsupported signature algorithm (hash ${hashId}, signature ${signatureId})`);
  }
  let publicKey;
  try {
    publicKey = new X509Certificate(certificate).publicKey;
  } catch {
    throw new DtlsSignatureError('DTLS: the peer certificate cannot be parsed');
  }
  if (publicKey.asymmetricKeyType !== keyType) {
    throw new DtlsSignatureError(`DTLS: ${what} is signed with ${keyType} but the certificate key is ${publicKey.asymmetricKeyType}`);
  }
  let valid = false;
  try {
    valid = verify(hash, signed, publicKey, signature);
  } catch {
    valid = false; // a malformed signature encoding
  }
  if (!valid) throw new DtlsSignatureError(`DTLS: the peer's ${what} signature does not match its certificate`);
}

/** The werift fields read (DtlsSocket, its DtlsContext and CipherContext). */
interface WeriftDtlsFields {
  role: 'server' | 'client' | 'auto';
  dtls?: {
    dtls: { sortedHandshakeCache: HandshakeMessage[] };
    cipher: {
      localRandom?: { serialize(): Buffer };
      remoteRandom?: { serialize(): Buffer };
      remoteCertificate?: Buffer;
    };
  };
}

const marker = Symbol.for('lectern.dtlsSignatureCheck');

/** RTCDtlsTransport's prototype, with the method werift's typings declare private. */
interface TransportPrototype {
  verifyRemoteCertificateFingerprint(this: RTCDtlsTransport): void;
  [marker]?: true;
}

/** The handshake `t` has completed, as `checkPeerSignature` reads it; throws if it is not complete. */
export function completedHandshake(t: RTCDtlsTransport): CompletedHandshake {
  const { role, dtls } = t as unknown as WeriftDtlsFields;
  const local = dtls?.cipher.localRandom?.serialize();
  const remote = dtls?.cipher.remoteRandom?.serialize();
  const peerCertificate = dtls?.cipher.remoteCertificate;
  if (!dtls || !local || !remote || !peerCertificate || role === 'auto') {
    throw new DtlsSignatureError('DTLS: the handshake is incomplete');
  }
  return {
    role,
    messages: dtls.dtls.sortedHandshakeCache,
    clientRandom: role === 'client' ? local : remote,
    serverRandom: role === 'client' ? remote : local,
    peerCertificate,
  };
}

export function installDtlsSignatureCheck(): void {
  const proto = RTCDtlsTransport.prototype as unknown as TransportPrototype;
  if (proto[marker]) return;
  const original = proto.verifyRemoteCertificateFingerprint;
  proto.verifyRemoteCertificateFingerprint = function verifyRemote(this: RTCDtlsTransport) {
    original.call(this);
    checkPeerSignature(completedHandshake(this));
  };
  proto[marker] = true;
}
