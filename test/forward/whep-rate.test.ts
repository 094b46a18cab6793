/**
 * WHEP viewers get the congestion control of WebSocket viewers (ViewerRate): a two-layer simulcast lecture
 * (rids h and l) is watched through a WhepConnection behind a loopback relay that is then narrowed.
 *
 * - A werift viewer (as the live HLS job is: no transport-wide-cc in its offer) behind a lossy 350 kbit/s
 *   link: its receiver reports' loss moves it to the low layer, and back once the link is clear.
 * - Chromium (a browser WHEP client: its offer has transport-wide-cc) behind a 500 kbit/s link with a deep
 *   queue: the extension is accepted, its TWCC feedback drives the delay-based estimate below the rate the
 *   high layer was sent at, and that moves it to the low layer; back up once the link is clear.
 *
 * (A werift viewer that offers transport-wide-cc is no use for the second case: werift 0.24.4 serialises its
 * TWCC feedback without padding it to 32 bits, so most of its messages do not parse; see forward/NOTES.md.)
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_RATE } from '../../src/forward/DelayEstimator.js';
import { TWCC_URI } from '../../src/forward/twcc.js';
import { silentLogger } from '../../src/log.js';
import { chooseLecture } from '../../src/signal/http-media/lecture.js';
import { WhepConnection } from '../../src/signal/http-media/WhepConnection.js';
import { framesDecoded, launchBrowser, newLoopbackContext } from '../helpers/browser.js';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { startSimulcastPublisher, type Rid, type SimulcastPublisher } from '../helpers/simulcastPublisher.js';
import { redirectOffer, serverPort, startUdpRelay, type UdpRelay } from '../helpers/udpRelay.js';
import { sleep, waitFor, waitUntil } from '../helpers/wait.js';
import { WhepPeer } from '../helpers/whepPeer.js';
import { ICE } from './fixture.js';

const TWCC_EXTMAP = new RegExp(`^a=extmap:\\d+ ${TWCC_URI.replaceAll('.', '\\.')}`, 'm');

/** Chromium offers recvonly video and audio (host candidates on loopback, gathering complete). */
async function chromiumOffer(page: Page): Promise<string> {
  return page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    pc.ontrack = (e) => {
      if (e.track.kind !== 'video') return;
      const v = document.createElement('video');
      v.muted = true;
      v.srcObject = new MediaStream([e.track]);
      document.body.append(v);
      void v.play();
    };
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
    }
    return pc.localDescription!.sdp;
  });
}

async function chromiumSetAnswer(page: Page, sdp: string): Promise<void> {
  await page.evaluate((answer) => (window as unknown as { pc: RTCPeerConnection }).pc.setRemoteDescription({ type: 'answer', sdp: answer }), sdp);
}

describe('WHEP viewers: TWCC, rate and simulcast layer', () => {
  let stun: LoopbackStun;
  let pub: SimulcastPublisher;
  let browser: Browser | undefined;
  const closers: (() => Promise<unknown> | void)[] = [];

  beforeAll(async () => {
    stun = await startLoopbackStun();
    pub = await startSimulcastPublisher({ stunPort: stun.port, ice: ICE });
    await waitFor(() => pub.sent.h.size > 30 && pub.sent.l.size > 10, 20_000, 'both layers published');
  }, 60_000);

  afterAll(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await browser?.close().catch(() => undefined);
    await pub?.close();
    await stun?.close();
  });

  /** Answers a WHEP offer for the publisher's stream, the answer's host candidate pointing at a relay. */
  async function accept(offer: string): Promise<{ conn: WhepConnection; answer: string; relayed: string; relay: UdpRelay }> {
    const { conn, answerSdp } = await WhepConnection.accept({ id: 'whep-rate', codecs: ['vp8', 'opus'], ice: ICE, log: silentLogger }, offer);
    closers.push(() => conn.close());
    const lecture = chooseLecture([pub.up]);
    expect(lecture.videoLayers?.map((t) => t.rid)).toEqual(['h', 'l']);
    conn.setLecture(lecture);
    const port = serverPort(answerSdp);
    const relay = await startUdpRelay(port);
    closers.push(() => relay.close());
    return { conn, answer: answerSdp, relayed: redirectOffer(answerSdp, port, relay.port), relay };
  }

  it('a werift viewer without transport-cc (the live HLS job) moves to the low layer behind a lossy link, and back', async () => {
    const viewer = new WhepPeer(stun.port);
    closers.push(() => viewer.close());
    const { conn, answer, relayed, relay } = await accept(await viewer.offer());
    expect(answer).not.toMatch(TWCC_EXTMAP);
    await viewer.setAnswer(relayed);
    await viewer.connected();

    const layerOf = (hash: string): Rid | undefined => (pub.sent.h.has(hash) ? 'h' : pub.sent.l.has(hash) ? 'l' : undefined);
    /** The last `n` video packets received all come from `layer`. */
    const lastOn = (layer: Rid, n: number) => viewer.video.length >= n && viewer.video.slice(-n).every((r) => layerOf(r.hash) === layer);
    const seen = () => `layer ${conn.videoLayer}, ${viewer.video.length} packets, ${JSON.stringify(conn.counters().video)}`;

    await waitFor(() => lastOn('h', 30), 20_000, () => `the high layer: ${seen()}`);
    expect(conn.videoLayer).toBe(0);
    expect(conn.twccStats()).toEqual({ negotiated: false, feedback: 0, overuses: 0 });

    // 350 kbit/s: the high layer (~900 kbit/s) loses more than half its packets.
    relay.set({ rateBps: 350_000 });
    await waitFor(() => conn.videoLayer === 1 && lastOn('l', 20), 45_000, () => `the low layer: ${seen()}`);

    relay.set({});
    await waitFor(() => conn.videoLayer === 0 && lastOn('h', 30), 90_000, () => `the high layer again: ${seen()}`);
    expect(conn.counters().video!.switches).toBeGreaterThanOrEqual(2);
    expect(viewer.video.every((r) => layerOf(r.hash) !== undefined)).toBe(true);
  }, 180_000);

  it("Chromium's TWCC feedback: the delay estimate moves it to the low layer on a narrow link, and back up", async () => {
    browser = await launchBrowser();
    const page = await (await newLoopbackContext(browser)).context.newPage();
    const offer = await chromiumOffer(page);
    expect(offer).toMatch(TWCC_EXTMAP);
    const { conn, answer, relayed, relay } = await accept(offer);
    expect(answer).toMatch(TWCC_EXTMAP);
    expect(answer).toMatch(/^a=rtcp-fb:\d+ transport-cc/m);
    await chromiumSetAnswer(page, relayed);
    const seen = () => `layer ${conn.videoLayer}, ${JSON.stringify(conn.twccStats())}, ${JSON.stringify(conn.counters().video)}`;
    await waitFor(() => conn.twccStats().feedback > 20 && conn.videoLayer === 0, 30_000, () => `feedback on the high layer: ${seen()}`);
    await waitUntil('Chromium decoding', () => framesDecoded(page), (n) => n > 30, 20_000);
    expect(conn.twccStats().negotiated).toBe(true);

    // The rate the high layer was sent at, over a second before the link narrows.
    const bytesBefore = conn.counters().video!.bytes;
    await sleep(1000);
    const highLayerBps = (conn.counters().video!.bytes - bytesBefore) * 8;

    // A 500 kbit/s link with 2 s of queue under the ~900 kbit/s high layer: the delay grows (as in twcc.test.ts).
    const overusesBefore = conn.twccStats().overuses;
    relay.set({ rateBps: 500_000, queueMs: 2000 });
    await waitFor(() => conn.twccStats().overuses > overusesBefore, 30_000, () => `an overuse: ${seen()}`);
    const estimate = conn.twccStats().estimate!;
    expect(estimate).toBeLessThan(highLayerBps);
    expect(estimate).toBeGreaterThan(MIN_RATE);
    await waitFor(() => conn.videoLayer === 1 && conn.counters().video!.switches >= 1, 30_000, () => `the low layer: ${seen()}`);

    relay.set({});
    const framesBefore = await framesDecoded(page);
    await waitFor(() => conn.videoLayer === 0 && conn.counters().video!.switches >= 2, 90_000, () => `the high layer again: ${seen()}`);
    await waitUntil('Chromium decoding the high layer', () => framesDecoded(page), (n) => n >= framesBefore + 20, 20_000);
  }, 240_000);
});
