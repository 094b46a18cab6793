/**
 * Workarounds for werift 0.24.4 client bugs that a loaded test machine triggers; browsers behave as these
 * patched peers do. Used by the werift viewers of the tests and benches (the DTLS one is the server's too:
 * src/forward/peerConfig.ts).
 */
import { CandidatePairState, type RTCPeerConnection } from 'werift';
import { watchDtlsClient } from '../../src/forward/peerConfig.js';

/** How often, and for how long after its answer, a viewer still in ICE `checking` re-runs its failed checks. */
const ICE_RETRY_EVERY_MS = 2000;
const ICE_RETRY_FOR_MS = 30_000;

/** The parts of werift 0.24.4's ICE agent (ice/src/ice.js Connection) the retry uses. */
interface WeriftIceAgent {
  checkList: { state: CandidatePairState; handle?: unknown; updateState(s: CandidatePairState): void }[];
  nominated?: unknown;
  nominating: boolean;
  checkStart(pair: WeriftIceAgent['checkList'][number]): unknown;
}

/**
 * werift 0.24 full-ICE client: a connectivity check is one STUN transaction of ~1.55 s (RTO 50 ms, 4
 * retransmissions); when it times out the pair is FAILED for good and `connect()` waits forever (a
 * nomination that timed out also leaves `nominating` set, so no later check would nominate). A viewer process
 * whose event loop is blocked that long, by its neighbours' pure-JS handshakes during a burst, misses every
 * reply and stays in `checking` although the server answered. Browsers keep checking for ~30 s; so do these
 * viewers: every 2 s, while still checking, each failed pair is checked again (up to 30 s after the answer).
 */
function retryFailedIceChecks(pc: RTCPeerConnection): () => void {
  const started = Date.now();
  const timer = setInterval(() => {
    if (pc.iceConnectionState !== 'checking' && pc.iceConnectionState !== 'new') {
      clearInterval(timer);
      return;
    }
    if (Date.now() - started > ICE_RETRY_FOR_MS) {
      clearInterval(timer);
      return;
    }
    for (const dtls of pc.dtlsTransports) {
      const agent = dtls.iceTransport.connection as unknown as WeriftIceAgent;
      if (agent.nominated) continue;
      const failed = agent.checkList.filter((p) => p.state === CandidatePairState.FAILED);
      if (failed.length === 0 || agent.checkList.some((p) => p.state === CandidatePairState.IN_PROGRESS)) continue;
      agent.nominating = false;
      for (const pair of failed) {
        pair.updateState(CandidatePairState.WAITING);
        pair.handle = agent.checkStart(pair);
      }
    }
  }, ICE_RETRY_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/** Both workarounds, for a peer whose remote description is set (its transports exist). */
export function patchWeriftClient(pc: RTCPeerConnection): () => void {
  for (const dtls of pc.dtlsTransports) watchDtlsClient(dtls);
  return retryFailedIceChecks(pc);
}
