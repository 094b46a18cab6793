import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CipherContext,
  HashAlgorithm,
  NamedCurveAlgorithm,
  RTCDtlsTransport,
  SignatureAlgorithm,
  type PeerConfig,
  type RTCPeerConnection,
} from 'werift';
import { startLoopbackStun, type LoopbackStun } from '../../test/helpers/loopbackStun.js';
import { connectedPeerPair, negotiatedPeerPair } from '../../test/helpers/mediaSource.js';
import {
  checkPeerSignature,
  completedHandshake,
  DtlsSignatureError,
  installDtlsSignatureCheck,
  type CompletedHandshake,
} from './dtlsSignatureCheck.js';

const ECDSA_SHA256 = { hash: HashAlgorithm.sha256_4, signature: SignatureAlgorithm.ecdsa_3 };
type Keys = { certPem: string; keyPem: string };
const newKeys = (): Promise<Keys> =>
  CipherContext.createSelfSignedCertificateWithKey(ECDSA_SHA256, NamedCurveAlgorithm.secp256r1_23);

/** A peer configuration presenting `cert`'s certificate while holding (and signing with) `key`'s key. */
function presenting(cert: Keys, key: Keys): Partial<PeerConfig> {
  return { dtls: { keys: { certPem: cert.certPem, keyPem: key.keyPem, signatureHash: ECDSA_SHA256 } } };
}

function transport(pc: RTCPeerConnection): RTCDtlsTransport {
  const t = pc.dtlsTransports[0];
  if (!t) throw new Error('no DTLS transport');
  return t;
}

/** Each peer's DTLS state once neither is still connecting (or after `ms`). */
async function settled(peers: RTCPeerConnection[], ms = 15_000): Promise<string[]> {
  const deadline = Date.now() + ms;
  const states = () => peers.map((p) => transport(p).state);
  while (Date.now() < deadline && states().some((s) => s === 'new' || s === 'connecting')) {
    await new Promise((r) => setTimeout(r, 50));
  }
  return states();
}

/** `h` with the message of type `type` changed by `edit` (copies; the transport keeps its own). */
function editMessage(h: CompletedHandshake, type: number, edit: (body: Buffer) => Buffer): CompletedHandshake {
  const messages = h.messages.map((m) => {
    if (m.msg_type !== type) return m;
    const fragment = edit(Buffer.from(m.fragment));
    const header = Buffer.from(m.serialize().subarray(0, 12));
    header.writeUIntBE(fragment.length, 1, 3);
    header.writeUIntBE(fragment.length, 9, 3);
    return { msg_type: type, fragment, serialize: () => Buffer.concat([header, fragment]) };
  });
  return { ...h, messages };
}

let stun: LoopbackStun;
const open: RTCPeerConnection[] = [];
beforeAll(async () => {
  stun = await startLoopbackStun();
});
afterAll(async () => {
  await Promise.allSettled(open.map((p) => p.close()));
  await stun.close();
});

describe('werift without the check', () => {
  it('completes a handshake with a peer that presents a certificate whose key it does not hold', async () => {
    const [real, other] = [await newKeys(), await newKeys()];
    const peers = await negotiatedPeerPair(stun.port, 'forged', [presenting(real, other), {}]);
    open.push(...peers);
    // If this fails, werift checks the signatures itself: drop dtlsSignatureCheck.ts.
    expect(await settled(peers)).toEqual(['connected', 'connected']);
  });
});

describe('installDtlsSignatureCheck', () => {
  beforeAll(() => {
    installDtlsSignatureCheck();
    installDtlsSignatureCheck(); // idempotent
  });

  it('still connects peers that hold their keys, in both DTLS roles', async () => {
    const peers = await connectedPeerPair(stun.port, 'honest');
    open.push(...peers);
    expect(peers.map((p) => transport(p).role).sort()).toEqual(['client', 'server']);
    expect(peers.map((p) => transport(p).state)).toEqual(['connected', 'connected']);
  });

  it('fails the handshake with a peer whose signature does not match its certificate, as server and as client', async () => {
    const [real, other] = [await newKeys(), await newKeys()];
    const rolesThatRefused: string[] = [];
    for (const forgedSide of [0, 1]) {
      const extra: [Partial<PeerConfig>, Partial<PeerConfig>] = [{}, {}];
      extra[forgedSide] = presenting(real, other);
      const peers = await negotiatedPeerPair(stun.port, `forged-${forgedSide}`, extra);
      open.push(...peers);
      const honestPeer = peers[1 - forgedSide]!;
      expect(await settled([honestPeer])).toEqual(['failed']);
      const honest = transport(honestPeer);
      rolesThatRefused.push(honest.role);
      // no SRTP session was set up with the keys of the failed handshake
      expect(honest.srtp).toBeUndefined();
    }
    expect(rolesThatRefused.sort()).toEqual(['client', 'server']);
  });

  describe('checkPeerSignature on a real handshake', () => {
    let byRole: Record<'server' | 'client', CompletedHandshake>;
    beforeAll(async () => {
      const peers = await connectedPeerPair(stun.port, 'transcript');
      open.push(...peers);
      const [a, b] = peers.map((p) => completedHandshake(transport(p)));
      byRole = a!.role === 'server' ? { server: a!, client: b! } : { server: b!, client: a! };
    });

    it('accepts the transcript as it was', () => {
      expect(() => checkPeerSignature(byRole.server)).not.toThrow();
      expect(() => checkPeerSignature(byRole.client)).not.toThrow();
    });

    it('refuses a CertificateVerify over a changed transcript (server role)', () => {
      const clientKeyExchange = 16;
      const changed = editMessage(byRole.server, clientKeyExchange, (body) => {
        body[body.length - 1]! ^= 1;
        return body;
      });
      expect(() => checkPeerSignature(changed)).toThrow(/CertificateVerify signature does not match its certificate/);
    });

    it('refuses a ServerKeyExchange whose signature does not cover these randoms (client role)', () => {
      const changed = { ...byRole.client, clientRandom: Buffer.alloc(32, 7) };
      expect(() => checkPeerSignature(changed)).toThrow(/ServerKeyExchange signature does not match its certificate/);
    });

    it('gives a clear error for a missing, truncated or unsupported signature', () => {
      const serverKeyExchange = 12;
      const certificateVerify = 15;
      const cases: [CompletedHandshake, RegExp][] = [
        [{ ...byRole.server, messages: byRole.server.messages.filter((m) => m.msg_type !== certificateVerify) }, /no CertificateVerify/],
        [editMessage(byRole.server, certificateVerify, (b) => b.subarray(0, 10)), /signature truncated/],
        [editMessage(byRole.client, serverKeyExchange, (b) => b.subarray(0, 2)), /too short/],
        [editMessage(byRole.server, certificateVerify, (b) => Buffer.concat([Buffer.from([4, 7]), b.subarray(2)])), /unsupported signature algorithm/],
        [editMessage(byRole.server, certificateVerify, (b) => Buffer.concat([Buffer.from([4, 1]), b.subarray(2)])), /signed with rsa but the certificate key is ec/],
      ];
      for (const [h, message] of cases) {
        expect(() => checkPeerSignature(h)).toThrow(DtlsSignatureError);
        expect(() => checkPeerSignature(h)).toThrow(message);
      }
    });
  });
});
