/**
 * Simulcast end to end on loopback: a werift publisher sends two real VP8 layers (rids h and l, ffmpeg), the
 * server forwards one layer per viewer, and a viewer behind a lossy, rate-limited relay is moved to the low
 * layer and back by its rate controller, seeing one continuous stream.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownConnection } from '../../src/forward/DownConnection.js';
import { isKeyframe } from '../../src/forward/keyframe.js';
import { SeqUnwrapper } from '../../src/forward/seq.js';
import { silentLogger } from '../../src/log.js';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { startSimulcastPublisher, vp8PictureId, type Rid, type SimulcastPublisher } from '../helpers/simulcastPublisher.js';
import { redirectOffer, serverPort, startUdpRelay, type UdpRelay } from '../helpers/udpRelay.js';
import { ViewerPeer } from '../helpers/viewerPeer.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { ICE } from './fixture.js';

interface Got {
  ext: number;
  seq: number;
  ts: number;
  ssrc: number;
  layer: Rid | undefined;
  pic: number;
  keyframe: boolean;
  at: number;
}

interface Watcher {
  peer: ViewerPeer;
  down: DownConnection;
  got: Got[];
  relay?: UdpRelay;
}

describe('simulcast', () => {
  let stun: LoopbackStun;
  let pub: SimulcastPublisher;
  const closers: (() => Promise<unknown> | void)[] = [];

  beforeAll(async () => {
    stun = await startLoopbackStun();
    pub = await startSimulcastPublisher({ stunPort: stun.port, ice: ICE });
    await waitFor(() => pub.sent.h.size > 30 && pub.sent.l.size > 10, 20_000, 'both layers published');
  }, 60_000);

  afterAll(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await pub?.close();
    await stun?.close();
  });

  async function watch(request: string[], clientId: string, relayed = false): Promise<Watcher> {
    const peer = new ViewerPeer({ stunPort: stun.port });
    const down = new DownConnection(pub.up, { id: pub.up.id, clientId, request, ice: ICE, log: silentLogger });
    closers.push(() => peer.close());
    closers.push(() => down.close());
    const got: Got[] = [];
    const unwrap = new SeqUnwrapper();
    // Subscribed after ViewerPeer's own hooks: packets dropped on purpose by dropWhen() are not seen here.
    peer.pc.onTrack.subscribe((track) => {
      if (track.kind !== 'video') return;
      track.onReceiveRtp.subscribe((p) => {
        got.push({
          ext: unwrap.unwrap(p.header.sequenceNumber),
          seq: p.header.sequenceNumber,
          ts: p.header.timestamp,
          ssrc: p.header.ssrc,
          layer: pub.layerOf(p.payload),
          pic: vp8PictureId(p.payload),
          keyframe: isKeyframe('vp8', p.payload),
          at: performance.now(),
        });
      });
    });
    let offer = await down.createOffer();
    let relay: UdpRelay | undefined;
    if (relayed) {
      const port = serverPort(offer);
      relay = await startUdpRelay(port);
      closers.push(() => relay!.close());
      offer = redirectOffer(offer, port, relay.port);
    }
    await down.setAnswer(await peer.answer(offer));
    await peer.connected();
    return relay ? { peer, down, got, relay } : { peer, down, got };
  }

  const countOf = (w: Watcher, layer: Rid, since = 0) => w.got.filter((g) => g.layer === layer && g.at >= since).length;
  /**
   * Packets of `layer` numbered after every packet of the other layer: the viewer is really on `layer` again
   * (late retransmissions of the old layer's packets, answered after a switch, do not count).
   */
  const newestRun = (w: Watcher, layer: Rid) => {
    let otherMax = -Infinity;
    for (const g of w.got) if (g.layer !== undefined && g.layer !== layer && g.ext > otherMax) otherMax = g.ext;
    return w.got.filter((g) => g.layer === layer && g.ext > otherMax).length;
  };

  it('viewers requesting video and video-low each get their layer, from the publisher, with our SSRC', async () => {
    const high = await watch(['video'], 'high');
    const low = await watch(['video-low'], 'low');
    await waitFor(() => high.got.length > 60 && low.got.length > 30, 20_000, 'video at both viewers');
    expect(high.got.every((g) => g.layer === 'h')).toBe(true);
    expect(low.got.every((g) => g.layer === 'l')).toBe(true);
    expect(high.got[0]!.keyframe && low.got[0]!.keyframe).toBe(true);
    expect(high.got.every((g) => g.ssrc === high.peer.offeredSsrc('video'))).toBe(true);
    expect(low.got.every((g) => g.ssrc === low.peer.offeredSsrc('video'))).toBe(true);
    expect(high.down.counters().video!.switches).toBe(0);
    expect(low.down.videoLayer).toBe(1);
  }, 60_000);

  it('a viewer behind a throttled link moves to the low layer and back, continuously, and NACKs still work', async () => {
    const v = await watch(['video'], 'throttled', true);
    await waitFor(() => countOf(v, 'h') > 30, 20_000, 'the high layer through the relay');
    expect(countOf(v, 'l')).toBe(0);

    // The link now carries 350 kbit/s: the high layer (~900 kbit/s) loses more than half its packets.
    const throttledAt = performance.now();
    v.relay!.set({ rateBps: 350_000 });
    await waitFor(() => countOf(v, 'l', throttledAt) > 20 && newestRun(v, 'l') > 20, 45_000, 'the low layer after throttling');
    expect(v.down.videoLayer).toBe(1);

    v.relay!.set({});
    await waitFor(() => newestRun(v, 'h') > 30, 90_000, 'the high layer after the link recovered');
    expect(v.down.videoLayer).toBe(0);

    // A NACK after the switches: drop a few packets once on the viewer's receive path; they are resent.
    const retransmittedBefore = v.down.counters().video!.retransmitted;
    v.peer.dropWhen((p) => p.header.sequenceNumber % 7 === 0);
    await sleep(700);
    v.peer.dropWhen(undefined);
    await sleep(1500); // let retransmissions land
    const dropped = new Set(v.peer.dropped);
    expect(dropped.size).toBeGreaterThan(0);
    expect(v.down.counters().video!.retransmitted).toBeGreaterThan(retransmittedBefore);
    const seen = new Set(v.got.map((g) => g.seq));
    const recovered = [...dropped].filter((s) => seen.has(s));
    expect(recovered.length).toBeGreaterThanOrEqual(dropped.size * 0.8);

    // Everything arrived with the viewer's own SSRC (werift would not deliver another one to this track).
    const ssrc = v.peer.offeredSsrc('video');
    expect(v.got.every((g) => g.ssrc === ssrc)).toBe(true);

    // In sequence order (duplicates from retransmission removed): at every change of layer, the first packet
    // of the new layer is a keyframe, numbered right after the last one of the old layer, with the next
    // picture id and a timestamp a little later.
    const bySeq = new Map<number, Got>();
    for (const g of v.got) if (!bySeq.has(g.ext)) bySeq.set(g.ext, g);
    const ordered = [...bySeq.values()].filter((g) => g.layer !== undefined).sort((a, b) => a.ext - b.ext);
    const switches: { from: Got; to: Got }[] = [];
    for (let i = 1; i < ordered.length; i++) {
      if (ordered[i]!.layer !== ordered[i - 1]!.layer) switches.push({ from: ordered[i - 1]!, to: ordered[i]! });
    }
    expect(switches.map((s) => `${s.from.layer}->${s.to.layer}`)).toEqual(expect.arrayContaining(['h->l', 'l->h']));
    expect(switches.length).toBe(v.down.counters().video!.switches);
    for (const { from, to } of switches) {
      expect(to.keyframe).toBe(true);
      expect(to.ext).toBe(from.ext + 1);
      expect(to.pic).toBe((from.pic + 1) & 0x7fff);
      const dt = (to.ts - from.ts) >>> 0;
      expect(dt).toBeGreaterThan(0);
      expect(dt).toBeLessThanOrEqual(9000);
    }

    // No freeze: packets kept arriving throughout (a loose bound: the machine is loaded).
    const arrivals = v.got.map((g) => g.at).sort((a, b) => a - b);
    let longest = 0;
    for (let i = 1; i < arrivals.length; i++) longest = Math.max(longest, arrivals[i]! - arrivals[i - 1]!);
    expect(longest).toBeLessThan(3000);
  }, 180_000);
});
