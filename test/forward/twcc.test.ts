/**
 * Transport-wide congestion control with a real browser viewer: headless Chromium watches a two-layer
 * simulcast stream through a loopback relay that becomes a bottleneck link with a deep queue. Chromium
 * negotiates transport-wide-cc, so it sends TWCC feedback and no REMB: the server's delay-based estimate
 * must see the queue grow (before the queue overflows and loses anything), move the viewer to the low layer,
 * and bring it back once the link is clear again, while Chromium keeps decoding.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MIN_RATE } from '../../src/forward/DelayEstimator.js';
import { DownConnection } from '../../src/forward/DownConnection.js';
import { silentLogger } from '../../src/log.js';
import { framesDecoded, launchBrowser, newLoopbackContext } from '../helpers/browser.js';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { startSimulcastPublisher, type SimulcastPublisher } from '../helpers/simulcastPublisher.js';
import { redirectOffer, serverPort, startUdpRelay, type UdpRelay } from '../helpers/udpRelay.js';
import { sleep, waitFor, waitUntil } from '../helpers/wait.js';
import { ICE } from './fixture.js';

/** Chromium answers the server's offer; its host candidate is on loopback (mDNS names are off). */
async function chromiumAnswer(page: Page, offer: string): Promise<string> {
  return page.evaluate(async (sdp) => {
    const pc = new RTCPeerConnection();
    (window as unknown as { pc: RTCPeerConnection }).pc = pc;
    pc.ontrack = (e) => {
      const v = document.createElement('video');
      v.muted = true;
      v.srcObject = new MediaStream([e.track]);
      document.body.append(v);
      void v.play();
    };
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    if (pc.iceGatheringState !== 'complete') {
      await new Promise<void>((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
    }
    return pc.localDescription!.sdp;
  }, offer);
}

describe('TWCC with a Chromium viewer', () => {
  let stun: LoopbackStun;
  let pub: SimulcastPublisher;
  let browser: Browser;
  let page: Page;
  let down: DownConnection;
  let relay: UdpRelay;

  beforeAll(async () => {
    stun = await startLoopbackStun();
    pub = await startSimulcastPublisher({ stunPort: stun.port, ice: ICE });
    await waitFor(() => pub.sent.h.size > 30 && pub.sent.l.size > 10, 20_000, 'both layers published');
    browser = await launchBrowser();
    page = await (await newLoopbackContext(browser)).context.newPage();
  }, 90_000);

  afterAll(async () => {
    down?.close();
    await relay?.close();
    await browser?.close().catch(() => undefined);
    await pub?.close();
    await stun?.close();
  });

  it('the delay estimate moves the viewer down before the bottleneck loses anything, and back up', async () => {
    down = new DownConnection(pub.up, { id: pub.up.id, clientId: 'chromium', request: ['video'], ice: ICE, log: silentLogger });
    const offer = await down.createOffer();
    const port = serverPort(offer);
    relay = await startUdpRelay(port);
    const answer = await chromiumAnswer(page, redirectOffer(offer, port, relay.port));
    expect(answer).toMatch(/^a=extmap:\d+ http:\/\/www\.ietf\.org\/id\/draft-holmer-rmcat-transport-wide-cc-extensions-01/m);
    await down.setAnswer(answer);

    await waitFor(() => down.twccStats().feedback > 20 && down.videoLayer === 0, 30_000, 'Chromium on the high layer, sending feedback');
    await waitUntil('Chromium decoding', () => framesDecoded(page), (n) => n > 30, 20_000);
    expect(down.twccStats()).toMatchObject({ negotiated: true, overuses: 0 });
    expect(down.twccStats().estimate).toBeUndefined();

    // The rate the high layer was sent at, over the last second before the link narrows.
    const bytesBefore = down.counters().video!.bytes;
    await sleep(1000);
    const highLayerBps = (down.counters().video!.bytes - bytesBefore) * 8;

    // A 500 kbit/s link with 2 s of queue under the ~900 kbit/s high layer: the delay grows by ~0.8 s a
    // second, so the queue overflows (the first loss) after about 2.5 s.
    relay.set({ rateBps: 500_000, queueMs: 2000 });
    await waitFor(() => down.twccStats().estimate !== undefined, 20_000, 'a delay-based estimate');
    const droppedWhenDetected = relay.counters.dropped;
    const estimate = down.twccStats().estimate!;
    expect(droppedWhenDetected).toBe(0);
    // The estimate is a fraction (DECREASE) of the rate the viewer measured arriving through the link: below
    // what the high layer needs, and a measurement, not the estimator's floor. (How close it comes to the
    // link's 500 kbit/s depends on how evenly packets arrive, which this machine's load decides.)
    expect(estimate).toBeLessThan(highLayerBps);
    expect(estimate).toBeGreaterThan(MIN_RATE);
    await waitFor(() => down.videoLayer === 1 && down.counters().video!.switches >= 1, 20_000, 'the low layer');

    relay.set({});
    const framesBefore = await framesDecoded(page);
    await waitFor(() => down.videoLayer === 0 && down.counters().video!.switches >= 2, 90_000, 'the high layer again');
    // Chromium decodes the high layer again (a second of it at 30 fps: not frozen on the switch).
    const framesOnHigh = await framesDecoded(page);
    expect(framesOnHigh).toBeGreaterThan(framesBefore);
    await waitUntil('frames on the high layer', () => framesDecoded(page), (n) => n >= framesOnHigh + 20, 10_000);
  }, 240_000);
});
