import {
  DtlsClient,
  DtlsServer,
  RTCRtpCodecParameters,
  type RTCDtlsTransport,
  type RTCPeerConnection,
  type RTCPeerConnectionConfig,
} from 'werift';
import { errorMessage, LecternError } from '../errors.js';
import type { CodecSpec } from './codecs.js';
import type { IceOptions } from './types.js';

/**
 * werift settings shared by every server peer connection: ICE-lite, no ICE servers (the server never contacts
 * a STUN server), one bundled transport; with `hostAddresses`, only those addresses are gathered.
 */
export function serverPeerConfig(ice: IceOptions): RTCPeerConnectionConfig {
  const config: RTCPeerConnectionConfig = {
    iceLite: true,
    iceServers: [],
    bundlePolicy: 'max-bundle',
  };
  if (ice.portRange) {
    const [min, max] = ice.portRange;
    if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min >= max) {
      throw new LecternError('bad-ice-config', `invalid UDP port range ${min}-${max} (need 1 <= min < max <= 65535)`);
    }
    config.icePortRange = [min, max];
  }
  if (ice.hostAddresses && ice.hostAddresses.length > 0) {
    config.iceUseIpv4 = false;
    config.iceUseIpv6 = false;
    config.iceAdditionalHostAddresses = [...ice.hostAddresses];
  }
  return config;
}

/** A fresh werift codec description (werift mutates these, so never share one between connections). */
export function weriftCodec(spec: CodecSpec): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: spec.mimeType,
    clockRate: spec.clockRate,
    channels: spec.channels,
    payloadType: spec.payloadType,
    parameters: spec.fmtp,
    rtcpFeedback: spec.feedback.map((f) => ({ ...f })),
  });
}

/** Resolves once ICE gathering is complete (at once for an ICE-lite agent with host candidates). */
export function gatheringComplete(pc: RTCPeerConnection, timeoutMs = 5000): Promise<void> {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    const sub = pc.iceGatheringStateChange.subscribe((state) => {
      if (state === 'complete') done();
    });
    function done(): void {
      clearTimeout(timer);
      sub.unSubscribe();
      resolve();
    }
  });
}

export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

/** Trickled ICE candidate from the client; an empty candidate means end-of-candidates. */
export async function addCandidate(pc: RTCPeerConnection, c: IceCandidateInit): Promise<void> {
  if (!c || typeof c.candidate !== 'string') throw new LecternError('bad-candidate', 'malformed ICE candidate');
  if (c.candidate === '') return;
  try {
    await pc.addIceCandidate({ candidate: c.candidate, sdpMid: c.sdpMid ?? undefined, sdpMLineIndex: c.sdpMLineIndex ?? undefined });
  } catch (e) {
    throw new LecternError('bad-candidate', `cannot add ICE candidate: ${errorMessage(e)}`, { cause: e });
  }
}

/**
 * werift quirk: on an ICE restart it resets the ICE agent (dropping the selected pair) but then skips
 * re-running ICE because DTLS is still connected, so media stops for good. After a renegotiation has been
 * applied on both sides, this starts ICE again on every transport that was reset.
 */
export function resumeIceAfterRestart(pc: RTCPeerConnection, onFailure: (err: unknown) => void): void {
  for (const dtls of pc.dtlsTransports) {
    const ice = dtls.iceTransport;
    if (dtls.state === 'connected' && !ice.connection.nominated && ice.connection.remoteUsername && ice.state !== 'checking') {
      ice.start().catch(onFailure);
    }
  }
}

const HELLO_VERIFY_REQUEST = 3;

/**
 * werift 0.24 DTLS client bug: it retransmits its first ClientHello after 500 ms, and if the server was slow
 * to answer it gets a second HelloVerifyRequest, on which Flight3.exec throws and the handshake fails for
 * good (a browser ignores the duplicate). The server is the DTLS client when it answers (publishers, WHEP:
 * `setup:active`), and werift viewers are DTLS clients towards it: all of them ignore a HelloVerifyRequest
 * once they have answered one; flight 3 has its own retransmission timer.
 */
function ignoreRepeatedHelloVerify(dtls: RTCDtlsTransport): void {
  const client = dtls.dtls;
  if (!(client instanceof DtlsClient)) return;
  const handle = client.onHandleHandshakes;
  client.onHandleHandshakes = (assembled) => {
    const rest = client.dtls.flight >= 3 ? assembled.filter((h) => h.msg_type !== HELLO_VERIFY_REQUEST) : assembled;
    return rest.length > 0 ? handle(rest) : Promise.resolve();
  };
}

const CLIENT_HELLO = 1;
/** A cookie-less ClientHello this long after our HelloVerifyRequest is answered again (that one was lost). */
const HELLO_VERIFY_RESEND_MS = 1500;

/**
 * The server side of the same werift 0.24 DTLS bug, for viewers that are werift DTLS clients (the server
 * offers actpass, they answer active): their retransmitted first ClientHello (no cookie) reaches werift's
 * DtlsServer after it has already answered the first one. werift then runs flight 2 again: it resets its
 * flight and record sequence numbers (so a handshake already in flight 4 is restarted and breaks) and sends
 * a second HelloVerifyRequest, on which an unpatched werift client's Flight3 throws. Under load (50 viewers
 * joining) some viewers' down connections went `failed` for good. So a cookie-less ClientHello after our
 * HelloVerifyRequest is ignored, unless that was long enough ago to have been lost.
 */
function ignoreRepeatedClientHello(dtls: RTCDtlsTransport): void {
  const server = dtls.dtls;
  if (!(server instanceof DtlsServer)) return;
  const handle = server.onHandleHandshakes;
  let helloVerifyAt = -Infinity;
  server.onHandleHandshakes = (assembled) => {
    const rest = assembled.filter((h) => {
      if (h.msg_type !== CLIENT_HELLO || hasCookie(h.fragment)) return true;
      const now = performance.now();
      if (server.dtls.flight > 2 || now - helloVerifyAt < HELLO_VERIFY_RESEND_MS) {
        dtlsServerCounters.repeatedHelloIgnored++;
        return false;
      }
      helloVerifyAt = now;
      return true;
    });
    return rest.length > 0 ? handle(rest) : Promise.resolve();
  };
}

/** ClientHellos ignored by `ignoreRepeatedClientHello`, process-wide (tests and benches read it). */
export const dtlsServerCounters = { repeatedHelloIgnored: 0 };

/** A ClientHello body (RFC 6347 §4.2.1): version (2), random (32), session id (1 + n), cookie (1 + n). */
function hasCookie(body: Buffer): boolean {
  const sessionIdLength = body[34];
  if (sessionIdLength === undefined) return false;
  const cookieLength = body[35 + sessionIdLength];
  return cookieLength !== undefined && cookieLength > 0;
}

/** Applies `ignoreRepeatedClientHello` to a server transport's DTLS server as soon as it exists. */
export function watchDtlsServer(dtls: RTCDtlsTransport): void {
  dtls.onStateChange.subscribe((state) => {
    if (state === 'connecting') queueMicrotask(() => ignoreRepeatedClientHello(dtls));
  });
}

/** Applies `ignoreRepeatedHelloVerify` to a transport's DTLS client as soon as it exists (call before it connects). */
export function watchDtlsClient(dtls: RTCDtlsTransport): void {
  // The DtlsClient is created right after the state becomes 'connecting' and sends nothing for 100 ms.
  dtls.onStateChange.subscribe((state) => {
    if (state === 'connecting') queueMicrotask(() => ignoreRepeatedHelloVerify(dtls));
  });
}

