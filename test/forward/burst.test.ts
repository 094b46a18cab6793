import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JoinTiming } from '../../bench/fanoutProtocol.js';
import { failureReasons, startPublishing, startViewerFleet, type Publishing, type ViewerFleet } from '../helpers/burstRig.js';
import { startTestServer, type TestServer } from '../helpers/testServer.js';

const VIEWERS = 200;
const PROCESSES = 8;
/** A failure bound for the whole burst, not a performance figure. */
const JOIN_TIMEOUT_MS = 120_000;

/**
 * 200 werift viewers (bench/leanViewer.ts, spread over forked processes, so that their own DTLS handshakes do
 * not run on the server's event loop) join one lecture at the same moment: every join and request is sent
 * within the burst, and each must connect (ICE + DTLS) and receive video from the publisher.
 *
 * The viewers re-run failed ICE checks while still checking, as browsers do (werift's client gives up a
 * check after ~1.5 s and never retries, which a viewer process busy with its neighbours' handshakes hits;
 * see `retryFailedIceChecks` in bench/leanViewer.ts and src/forward/NOTES.md).
 */
describe('a burst of 200 viewers joining one lecture', () => {
  let server: TestServer;
  let publishing: Publishing;
  let fleet: ViewerFleet;
  let timings: JoinTiming[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      groups: {
        lecture: {
          users: { speaker: { password: 'pw', permissions: 'op' } },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
          // No live HLS (its x264 encoder would compete with the handshakes for the two cores).
          hls: false,
        },
      },
    });
    // A light stream (small video, no audio): what is tested is the join, not the forwarding capacity
    // (bench/fanout.ts), which a 1 Mbit/s lecture to 200 viewers would saturate on two shared cores.
    publishing = await startPublishing({
      wsUrl: server.wsUrl,
      group: 'lecture',
      username: 'speaker',
      password: 'pw',
      media: { width: 320, height: 240, fps: 15, videoBitrate: '150k', audio: false },
    });
    fleet = await startViewerFleet({ wsUrl: server.wsUrl, group: 'lecture', processes: PROCESSES, joinTimeoutMs: JOIN_TIMEOUT_MS });
  }, 60_000);

  afterAll(async () => {
    await fleet?.close();
    await publishing?.close();
    await server?.stop();
  }, 60_000);

  it('every viewer connects and receives video', async () => {
    await fleet.open(0, VIEWERS);
    timings = await fleet.join(0, VIEWERS);
    // The reasons, grouped (with each failed viewer's last milestone), make a failure readable.
    expect(failureReasons(timings)).toEqual({});
    expect(timings.map((t) => t.index)).toEqual(Array.from({ length: VIEWERS }, (_, i) => i));
    for (const t of timings) {
      expect(t.connectedMs).toBeDefined();
      expect(t.firstVideoMs).toBeDefined();
    }
    // The join commands all left within the burst: every viewer sent its join before the first one had video.
    const firstVideoAt = Math.min(...timings.map((t) => t.joinSentAt! + t.firstVideoMs!));
    const lastJoinAt = Math.max(...timings.map((t) => t.joinSentAt!));
    expect(lastJoinAt).toBeLessThan(firstVideoAt);
  }, JOIN_TIMEOUT_MS + 60_000);

  it('every viewer is still joined and connected afterwards', async () => {
    const counts = await Promise.all(fleet.workers.map((w) => w.request<'count'>({ cmd: 'count' }, 10_000)));
    const connected = counts.reduce((a, r) => a + r.counts.connected, 0);
    const joined = counts.reduce((a, r) => a + r.counts.joined, 0);
    expect(joined).toBe(VIEWERS);
    expect(connected).toBe(VIEWERS);
  }, 30_000);
});
