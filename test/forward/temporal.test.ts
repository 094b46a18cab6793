/**
 * VP8 temporal layers end to end on loopback: the publisher's low simulcast layer carries TIDs (0, 2, 1, 2 by
 * frame); a viewer on that layer behind a throttled relay is sent fewer temporal layers, numbered without
 * gaps, and all of them again once its link recovers.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownConnection } from '../../src/forward/DownConnection.js';
import { vp8TemporalLayer } from '../../src/forward/Vp8Rewriter.js';
import { SeqUnwrapper } from '../../src/forward/seq.js';
import { silentLogger } from '../../src/log.js';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { startSimulcastPublisher, type SimulcastPublisher } from '../helpers/simulcastPublisher.js';
import { redirectOffer, serverPort, startUdpRelay } from '../helpers/udpRelay.js';
import { ViewerPeer } from '../helpers/viewerPeer.js';
import { waitFor } from '../helpers/wait.js';
import { ICE } from './fixture.js';

describe('VP8 temporal layers', () => {
  let stun: LoopbackStun;
  let pub: SimulcastPublisher;
  const closers: (() => Promise<unknown> | void)[] = [];

  beforeAll(async () => {
    stun = await startLoopbackStun();
    pub = await startSimulcastPublisher({
      stunPort: stun.port,
      ice: ICE,
      id: 'temporal',
      l: { width: 320, height: 180, videoBitrate: '300k', gop: 30 },
      temporalLayers: ['l'],
    });
    await waitFor(() => pub.sent.l.size > 30, 20_000, 'the low layer published');
  }, 60_000);

  afterAll(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await pub?.close();
    await stun?.close();
  });

  it('a viewer that cannot take the lowest layer gets fewer temporal layers, without gaps, then all again', async () => {
    const peer = new ViewerPeer({ stunPort: stun.port });
    const down = new DownConnection(pub.up, { id: pub.up.id, clientId: 'slow', request: ['video-low'], ice: ICE, log: silentLogger });
    closers.push(() => peer.close(), () => down.close());
    const got: { ext: number; tid: number; at: number }[] = [];
    const unwrap = new SeqUnwrapper();
    peer.pc.onTrack.subscribe((track) => {
      if (track.kind !== 'video') return;
      track.onReceiveRtp.subscribe((p) => {
        got.push({ ext: unwrap.unwrap(p.header.sequenceNumber), tid: vp8TemporalLayer(p.payload), at: performance.now() });
      });
    });
    const offer = await down.createOffer();
    const port = serverPort(offer);
    const relay = await startUdpRelay(port);
    closers.push(() => relay.close());
    await down.setAnswer(await peer.answer(redirectOffer(offer, port, relay.port)));
    await peer.connected();
    await waitFor(() => got.filter((g) => g.tid === 2).length > 20, 20_000, 'every temporal layer at first');
    const dropped = () => down.counters().video!.temporalDropped;
    expect(dropped()).toBe(0);

    // 120 kbit/s for a 300 kbit/s layer: the rate controller comes down and TID 2 (half the frames) goes.
    relay.set({ rateBps: 120_000 });
    await waitFor(() => dropped() > 50, 45_000, 'temporal layer 2 left out');

    // The link recovers; while TID 2 is still left out, what arrives is numbered without a gap.
    relay.set({});
    const clearAt = performance.now() + 1000;
    await waitFor(() => got.filter((g) => g.at > clearAt).length > 40, 20_000, 'packets over the clear link');
    const clear = got.filter((g) => g.at > clearAt);
    const firstTid2 = clear.findIndex((g) => g.tid === 2);
    const reduced = clear.slice(0, firstTid2 < 0 ? clear.length : firstTid2);
    const exts = [...new Set(reduced.map((g) => g.ext))].sort((a, b) => a - b);
    const trace = JSON.stringify(clear.slice(0, 60).map((g) => [g.ext, g.tid]));
    expect(exts.length, `packets still without TID 2 over the clear link: ${trace}`).toBeGreaterThan(10);
    expect(exts.at(-1)! - exts[0]!, `numbering without gaps: ${trace}`).toBe(exts.length - 1);

    // And every layer comes back.
    await waitFor(() => got.filter((g) => g.at > clearAt && g.tid === 2).length > 20, 90_000, 'temporal layer 2 again');
  }, 180_000);
});
