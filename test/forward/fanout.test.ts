import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtcpPayloadSpecificFeedback, RtcpRrPacket, type RtcpPacket } from 'werift';
import { sleep, startFixture, waitFor, type Fixture, type Viewer } from './fixture.js';

const VIEWERS = 50;
const BATCH = 10;

/**
 * One publisher (ffmpeg VP8 + Opus through a werift peer) and 50 werift viewers on one forwarding core.
 * The cases run in order on the same session.
 */
describe('fan-out to 50 viewers', () => {
  let f: Fixture;
  const upstreamRtcp: RtcpPacket[] = [];
  /** Video packets the up track had received before the first viewers were created / once they all had media. */
  let upBeforeFirst = 0;
  let upAfterFirst = 0;
  const upVideoPackets = () => Object.values(f.up.counters()).find((c) => c.keyframes > 0)?.packets ?? 0;

  beforeAll(async () => {
    // Start the video near the uint16 wrap so that it is crossed during the test.
    f = await startFixture({ media: { videoSeq: 65200 } });
    f.pub.videoTransceiver!.sender.onRtcp.subscribe((p) => upstreamRtcp.push(p));
    await f.media.firstVideo();
    await waitFor(() => upVideoPackets() > 0, 20_000, 'video at the server');
    for (let i = 0; i < VIEWERS; i += BATCH) {
      if (i === 0) upBeforeFirst = upVideoPackets();
      await Promise.all(Array.from({ length: Math.min(BATCH, VIEWERS - i) }, () => f.addViewer()));
      if (i === 0) {
        // Receiving a packet proves the server attached the viewer's DownTrack before this snapshot.
        await waitFor(() => f.viewers.every((v) => v.peer.video.length > 0), 20_000, 'first video packets');
        upAfterFirst = upVideoPackets();
      }
    }
  }, 180_000);

  afterAll(async () => {
    await f?.close();
  });

  it('every viewer receives video and audio, byte-identical to what the publisher sent', async () => {
    const viewers = f.viewers.slice(0, VIEWERS);
    const crossedWrap = (v: Viewer) => v.peer.video.some((r) => r.seq > 65000) && v.peer.video.some((r) => r.seq < 1000);
    await waitFor(
      () => viewers.every((v) => v.peer.video.length >= 150 && v.peer.audio.length >= 100) && crossedWrap(viewers[0]!),
      60_000,
      'media at every viewer, across the sequence number wrap',
    );
    let mismatches = 0;
    let checked = 0;
    for (const v of viewers) {
      for (const r of v.peer.video) {
        checked++;
        if (!f.video.has(r.ts, r.hash)) mismatches++;
      }
      for (const r of v.peer.audio) {
        checked++;
        if (!f.audio.has(r.ts, r.hash)) mismatches++;
      }
      // The viewer's own SSRCs, as offered, not the publisher's
      const vs = v.peer.offeredSsrc('video');
      const as = v.peer.offeredSsrc('audio');
      expect(vs).toBeDefined();
      expect(new Set(v.peer.video.map((r) => r.ssrc))).toEqual(new Set([vs]));
      expect(new Set(v.peer.audio.map((r) => r.ssrc))).toEqual(new Set([as]));
      expect(v.peer.video.some((r) => r.keyframe)).toBe(true);
    }
    expect(mismatches).toBe(0);
    expect(checked).toBeGreaterThan(VIEWERS * 250);
  }, 120_000);

  it('forwards every packet the up track received to every viewer, dropping none', () => {
    // Counted at the server, so that loss on the (busy, shared) loopback does not blur it: since it joined,
    // each viewer of the first batch was sent every new packet exactly once.
    const upNow = upVideoPackets();
    for (const v of f.viewers.slice(0, BATCH)) {
      const c = v.down.counters().video!;
      expect(c.dropped).toBe(0);
      const live = c.packets - c.retransmitted - c.replayed;
      expect(live).toBeLessThanOrEqual(upNow - upBeforeFirst);
      expect(live).toBeGreaterThanOrEqual(upNow - upAfterFirst);
    }
  });

  it('a late joiner receives a keyframe within 500 ms of connecting', async () => {
    await sleep(1200); // well past the last keyframe replay window
    const late = await f.addViewer(['audio', 'video'], 'late-joiner');
    await waitFor(() => late.peer.video.some((r) => r.keyframe), 5000, 'a keyframe at the late joiner');
    const kf = late.peer.video.find((r) => r.keyframe)!;
    expect(kf.at - late.peer.connectedAt!).toBeLessThanOrEqual(500);
    expect(f.video.has(kf.ts, kf.hash)).toBe(true);
  });

  it("answers a viewer's NACKs from the cache, with that viewer's SSRC", async () => {
    const v: Viewer = f.viewers[1]!;
    const ssrc = v.peer.offeredSsrc('video')!;
    v.peer.dropWhen((p) => p.header.ssrc === ssrc && p.header.sequenceNumber % 17 === 0);
    await waitFor(() => v.peer.dropped.length >= 8, 30_000, '8 dropped packets');
    v.peer.dropWhen(undefined);
    const dropped = [...v.peer.dropped];
    await waitFor(
      () => dropped.every((s) => v.peer.video.some((r) => r.seq === s)),
      30_000,
      'retransmissions of the dropped packets',
    );
    for (const s of dropped) {
      const r = v.peer.video.find((x) => x.seq === s)!;
      expect(r.ssrc).toBe(ssrc);
      expect(r.hash).toBe(f.video.bySeq.get(s)); // the publisher's bytes for that sequence number
    }
    // Answered by the forwarding core from the up track's cache: this viewer's DownTrack retransmitted them.
    expect(v.down.counters().video!.retransmitted).toBeGreaterThanOrEqual(dropped.length);
  }, 120_000);

  it("turns many viewers' PLIs into at most one PLI upstream per 500 ms", async () => {
    const plis: number[] = [];
    const sub = f.pub.videoTransceiver!.sender.onPictureLossIndication.subscribe(() => plis.push(performance.now()));
    const start = performance.now();
    for (let round = 0; round < 10; round++) {
      await Promise.all(f.viewers.slice(0, 20).map((v) => v.peer.sendPli()));
      await sleep(100);
    }
    await sleep(200);
    const elapsed = performance.now() - start;
    sub.unSubscribe();
    expect(plis.length).toBeGreaterThanOrEqual(1);
    // (The spacing itself is the Throttle's unit test; arrival times here jitter with the event loop.)
    expect(plis.length).toBeLessThanOrEqual(Math.ceil(elapsed / 500) + 1);
    const counters = Object.values(f.up.counters()).find((c) => c.plisSuppressed > 0);
    expect(counters!.plisSuppressed).toBeGreaterThan(100);
  });

  it('sends the publisher receiver reports and a REMB', () => {
    expect(upstreamRtcp.some((p) => p.type === RtcpRrPacket.type)).toBe(true);
    const remb = upstreamRtcp.filter(
      (p) => p.type === RtcpPayloadSpecificFeedback.type && (p as RtcpPayloadSpecificFeedback).feedback.count === 15,
    );
    expect(remb.length).toBeGreaterThan(0);
    expect(f.pub.videoTransceiver!.sender.receiverEstimatedMaxBitrate).toBeGreaterThan(0n);
  });

  it('viewers come and go without disturbing the publisher or the others', async () => {
    const leaving = f.viewers.slice(30, 40);
    for (const v of leaving) v.down.close('viewer left');
    await Promise.all(leaving.map((v) => v.peer.close()));
    const staying = f.viewers[2]!.peer;
    const before = staying.video.length;
    const newcomer = await f.addViewer();
    await waitFor(() => staying.video.length > before + 60 && newcomer.peer.video.length > 60, 60_000, 'media after churn');
    expect(f.up.closed).toBe(false);
    expect(f.up.stats().tracks.every((t) => t.bitrate > 0)).toBe(true);
  }, 120_000);

  it('closing the publisher closes every down connection', async () => {
    const open = f.viewers.filter((v) => !v.down.closed);
    expect(open.length).toBeGreaterThan(VIEWERS - 10);
    f.up.close('publisher left');
    const reasons = await Promise.all(open.map((v) => v.closed));
    expect(reasons.every((r) => r === 'publisher closed')).toBe(true);
  });
});
