import { RtpHeader, RtpPacket } from 'werift';
import { describe, expect, it } from 'vitest';
import { CODECS } from './codecs.js';
import { PacketCache } from './PacketCache.js';
import { MIN_LOSS_RATE } from './RateController.js';
import { RtpDownTrack, type RtpSink } from './RtpDownTrack.js';
import type { DownTrack, Replay, UpTrack } from './types.js';

function pkt(seq: number, ts: number, payload = Buffer.from([seq & 0xff]), ssrc = 1111): RtpPacket {
  return new RtpPacket(
    new RtpHeader({
      ssrc,
      sequenceNumber: seq & 0xffff,
      timestamp: ts >>> 0,
      payloadType: 120,
      marker: seq % 2 === 0,
      extension: true,
      extensions: [{ id: 3, payload: Buffer.from('h') }],
    }),
    payload,
  );
}

class FakeUp implements UpTrack {
  readonly id = 'up';
  readonly label = 'camera';
  readonly rid = undefined;
  readonly codec = { ...CODECS.vp8, payloadType: 120 };
  cache = new PacketCache<RtpPacket>(64);
  readonly downs = new Set<DownTrack>();
  keyframeRequests = 0;
  nacked: number[][] = [];
  replayValue: Replay = { packets: [], complete: false, nextSeq: 0 };
  constructor(readonly kind: 'audio' | 'video' = 'video') {}
  addDown(d: DownTrack) {
    this.downs.add(d);
  }
  removeDown(d: DownTrack) {
    this.downs.delete(d);
  }
  getPacket(seq: number) {
    return this.cache.get(seq);
  }
  replay() {
    return this.replayValue;
  }
  requestKeyframe() {
    this.keyframeRequests++;
  }
  nack(seqs: readonly number[]) {
    this.nacked.push([...seqs]);
  }
  rtpTimeAt(nowMs: number) {
    return nowMs * 90;
  }
  senderClock() {
    return undefined;
  }
  bitrate() {
    return 0;
  }
  /** What the real up track does per packet. */
  push(p: RtpPacket, keyframe = false) {
    this.cache.put(p.header.sequenceNumber, p);
    for (const d of [...this.downs]) d.write(p, keyframe); // over a copy, as RtpUpTrack (copy-on-write)
  }
}

interface Sent {
  ssrc: number;
  seq: number;
  ts: number;
  pt: number;
  marker: boolean;
  ext: boolean;
  payload: Buffer;
  /** A copy of the bytes sent (the payload may be the track's reused scratch buffer). */
  bytes: Buffer;
}

function setup(kind: 'audio' | 'video' = 'video') {
  const sent: Sent[] = [];
  const sink: RtpSink = {
    sendRtp(payload, h) {
      const wire = h.serialize(h.serializeSize); // what werift encrypts
      sent.push({
        ssrc: h.ssrc,
        seq: h.sequenceNumber,
        ts: h.timestamp,
        pt: h.payloadType,
        marker: h.marker,
        ext: (wire[0]! & 0x10) !== 0,
        payload,
        bytes: Buffer.from(payload),
      });
    },
  };
  let now = 10_000;
  const down = new RtpDownTrack({ id: 'd', kind, ssrc: 4242, payloadType: 96, clockRate: 90000, sink, now: () => now });
  const up = new FakeUp(kind);
  return { down, up, sent, clock: { advance: (ms: number) => (now += ms) } };
}

describe('RtpDownTrack', () => {
  it("rewrites SSRC and payload type, strips header extensions, and leaves the upstream packet alone", () => {
    const { down, up, sent } = setup();
    down.setSource(up);
    const p = pkt(100, 9000);
    up.push(p);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ ssrc: 4242, seq: 100, ts: 9000, pt: 96, marker: true, ext: false });
    expect(sent[0]!.payload).toBe(p.payload);
    expect(p.header.ssrc).toBe(1111);
    expect(p.header.payloadType).toBe(120);
    expect(p.header.extensions).toHaveLength(1);
  });

  it('answers NACKs from the cache with its own SSRC, once per guard interval, and NACKs misses upstream', () => {
    const { down, up, sent, clock } = setup();
    down.setSource(up);
    for (let s = 65530; s < 65536 + 5; s++) up.push(pkt(s, s * 3));
    sent.length = 0;
    down.handleNack([65534, 1]);
    expect(sent.map((s) => [s.ssrc, s.seq, s.ts])).toEqual([
      [4242, 65534, (65534 * 3) >>> 0],
      [4242, 1, (65537 * 3) >>> 0],
    ]);
    down.handleNack([1]);
    expect(sent).toHaveLength(2);
    clock.advance(20);
    down.handleNack([1]);
    expect(sent).toHaveLength(3);
    // 65520 was never received, 9 is in the future
    down.handleNack([65520, 9]);
    expect(up.nacked).toEqual([]); // 65520 precedes the first forwarded packet: cannot be mapped
    up.cache.clear();
    down.handleNack([2]);
    expect(up.nacked).toEqual([[2]]);
  });

  it('answers a NACK storm (werift: its whole list every 5 ms) with each packet once, within half the live rate', () => {
    const { down, up, sent, clock } = setup();
    up.cache = new PacketCache<RtpPacket>(1024);
    down.setSource(up);
    let seq = 1000;
    const live = (n: number) => {
      for (let i = 0; i < n; i++, seq++) up.push(pkt(seq, seq * 3000));
    };
    live(400);
    // The viewer missed 20 packets and repeats its list every 5 ms, 10 times (werift's NackHandler).
    const few = Array.from({ length: 20 }, (_, i) => 1100 + i * 2);
    sent.length = 0;
    for (let i = 0; i < 10; i++, clock.advance(5)) down.handleNack(few);
    // Each once per 20 ms guard: at 0, 20 and 40 ms.
    expect(sent).toHaveLength(3 * 20);
    expect(new Set(sent.map((s) => s.seq))).toEqual(new Set(few));
    expect(down.counters.retransmitsDeclined).toBe(0);

    // A long list (werift keeps up to 150): the budget saved (64, refilled by half a resend per live packet) runs out.
    const many = Array.from({ length: 150 }, (_, i) => 1050 + i * 2);
    const before = down.counters.retransmitted;
    live(200); // earns 100 resends, capped at the 64 saved
    for (let i = 0; i < 10; i++, clock.advance(5)) down.handleNack(many);
    expect(down.counters.retransmitted - before).toBe(64);
    expect(down.counters.retransmitsDeclined).toBeGreaterThan(0);
    // Over the whole storm: resends ≤ the saved burst + half of what was forwarded live.
    expect(down.counters.retransmitted).toBeLessThanOrEqual(64 + 0.5 * 600);
  });

  it('does not resend a packet twice within the round trip the viewer reported', () => {
    const { down, up, sent, clock } = setup();
    down.setSource(up);
    for (let s = 0; s < 20; s++) up.push(pkt(s, s * 3000));
    const sr = down.senderReport(10_000)!;
    clock.advance(100); // the report comes back 100 ms later, none of it spent at the viewer
    down.handleReport({ fractionLost: 0, jitter: 0, lsr: Number((sr.ntpTimestamp >> 16n) & 0xffffffffn), dlsr: 0 });
    expect(down.stats(10_100).rtt).toBeCloseTo(100, 0);
    sent.length = 0;
    down.handleNack([5]);
    clock.advance(50);
    down.handleNack([5]); // werift would ask again long before a resend can have arrived
    expect(sent).toHaveLength(1);
    clock.advance(60);
    down.handleNack([5]);
    expect(sent).toHaveLength(2);
  });

  it('replays a cached keyframe numbered right before the live edge, and asks for a fresh one', () => {
    const { down, up, sent } = setup();
    const kf = [pkt(200, 5000), pkt(201, 5000)];
    for (const p of kf) up.cache.put(p.header.sequenceNumber, p);
    for (let s = 202; s < 260; s++) up.cache.put(s, pkt(s, 8000 + s));
    up.replayValue = { packets: kf, complete: false, nextSeq: 260 };
    down.setSource(up);
    expect(sent.map((s) => [s.seq, s.ts])).toEqual([
      [258, 5000],
      [259, 5000],
    ]);
    expect(up.keyframeRequests).toBe(1);
    up.push(pkt(259, 9999)); // late live packet that collides with the replayed block
    up.push(pkt(260, 8260));
    expect(sent.map((s) => s.seq)).toEqual([258, 259, 260]);
    sent.length = 0;
    down.handleNack([259]);
    expect(sent[0]).toMatchObject({ seq: 259, ts: 5000, payload: kf[1]!.payload });
  });

  it('replays a recent keyframe with what followed it, unchanged', () => {
    const { down, up, sent } = setup();
    const packets = [pkt(300, 1000), pkt(301, 1000), pkt(303, 4000)];
    up.replayValue = { packets, complete: true, nextSeq: 304 };
    down.setSource(up);
    up.push(pkt(302, 4000)); // the hole, arriving late, still goes out
    up.push(pkt(304, 4000));
    expect(sent.map((s) => s.seq)).toEqual([300, 301, 303, 302, 304]);
    expect(up.keyframeRequests).toBe(0);
  });

  it('a layer switch keeps the old layer until the new one\'s keyframe, then continues without a gap', () => {
    const { down, up, sent } = setup();
    down.setSource(up);
    up.push(pkt(10, 1000));
    up.push(pkt(11, 4000));
    const other = new FakeUp();
    down.setSource(other);
    expect(down.pending).toBe(other);
    expect(other.keyframeRequests).toBe(1);
    other.push(pkt(7000, 50, undefined, 2222)); // not a keyframe: not sent
    up.push(pkt(12, 7000)); // the old layer still flows
    other.push(pkt(7001, 3050, undefined, 2222), true);
    expect(up.downs.size).toBe(0);
    expect(down.source).toBe(other);
    other.push(pkt(7002, 3050, undefined, 2222));
    up.push(pkt(13, 10000)); // detached: not delivered
    expect(sent.map((s) => [s.seq, s.ts])).toEqual([
      [10, 1000],
      [11, 4000],
      [12, 7000],
      [13, 10000],
      [14, 10000],
    ]);
    expect(down.counters.switches).toBe(1);
  });

  it('switching back before the keyframe cancels the switch', () => {
    const { down, up, sent } = setup();
    down.setSource(up);
    up.push(pkt(10, 1000));
    const other = new FakeUp();
    down.setSource(other);
    down.setSource(up);
    expect(down.pending).toBeUndefined();
    expect(other.downs.size).toBe(0);
    other.push(pkt(7001, 3050, undefined, 2222), true);
    up.push(pkt(11, 4000));
    expect(sent.map((s) => s.seq)).toEqual([10, 11]);
  });

  it('asks the new layer for a keyframe again while waiting for one', () => {
    const { down, up, clock } = setup();
    down.setSource(up);
    up.push(pkt(10, 1000));
    const other = new FakeUp();
    down.setSource(other);
    other.push(pkt(1, 1, undefined, 2222));
    expect(other.keyframeRequests).toBe(1);
    clock.advance(1000);
    other.push(pkt(2, 2, undefined, 2222));
    expect(other.keyframeRequests).toBe(2);
  });

  it.each([
    // last old (seq, ts), first new (seq, ts): the new layer continues at seq+1, ts + one frame (3000)
    ['no wrap', [100, 90_000], [5000, 1_000_000]],
    ['old seq at 65535', [65535, 90_000], [10, 5]],
    ['new seq near 65535', [200, 7], [65534, 0xffffff00]],
    ['old ts near 2^32', [300, 0xfffffa00], [40, 123]],
    ['new ts near 2^32, old just past it', [400, 100], [41, 0xfffffff0]],
  ] as const)('switch arithmetic at the wraps: %s', (_n, [oldSeq, oldTs], [newSeq, newTs]) => {
    const { down, up, sent } = setup();
    down.setSource(up);
    up.push(pkt(oldSeq - 1, oldTs - 3000));
    up.push(pkt(oldSeq, oldTs));
    const other = new FakeUp();
    down.setSource(other);
    other.push(pkt(newSeq, newTs, undefined, 2222), true);
    other.push(pkt(newSeq + 1, newTs, undefined, 2222));
    other.push(pkt(newSeq + 2, newTs + 3000, undefined, 2222));
    const out = sent.slice(2);
    expect(out.map((s) => s.seq)).toEqual([1, 2, 3].map((i) => (oldSeq + i) & 0xffff));
    expect(out.map((s) => s.ts)).toEqual([3000, 3000, 6000].map((d) => (oldTs + d) >>> 0));
    // NACKs for the new layer's packets are answered from it, with the viewer's SSRC
    sent.length = 0;
    down.handleNack([(oldSeq + 2) & 0xffff]);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ ssrc: 4242, seq: (oldSeq + 2) & 0xffff, bytes: Buffer.from([(newSeq + 1) & 0xff]) });
  });

  it('rewrites VP8 picture ids across a switch without touching the shared payload', () => {
    const { down, up, sent } = setup();
    const vp8 = (pic: number, key = false) => Buffer.from([0x90, 0xc0, 0x80 | (pic >> 8), pic & 0xff, pic & 0xff, key ? 0 : 1]);
    down.setSource(up);
    const a = vp8(0x7fff);
    up.push(pkt(10, 1000, a));
    expect(sent[0]!.payload).toBe(a);
    const other = new FakeUp();
    down.setSource(other);
    const k = vp8(300, true);
    other.push(pkt(50, 1, k, 2222), true);
    other.push(pkt(51, 3001, vp8(301), 2222));
    expect(sent.slice(1).map((s) => ((s.bytes[2]! & 0x7f) << 8) | s.bytes[3]!)).toEqual([0, 1]);
    expect(sent.slice(1).map((s) => s.bytes[4])).toEqual([0, 1]); // TL0PICIDX follows too (255 -> 0)
    expect(k[3]).toBe(300 & 0xff);
  });

  it('after a switch, NACKs for the old layer\'s last packets are answered from its cache, numbered as sent', () => {
    const { down, up, sent } = setup();
    const vp8 = (pic: number, key = false) => Buffer.from([0x90, 0xc0, 0x80 | (pic >> 8), pic & 0xff, pic & 0xff, key ? 0 : 1]);
    down.setSource(up);
    up.push(pkt(65534, 1000, vp8(10)));
    up.push(pkt(65535, 4000, vp8(11))); // lost on the way to the viewer
    const other = new FakeUp();
    down.setSource(other);
    other.push(pkt(900, 77, vp8(5000, true), 2222), true); // sent as seq 0, picture 12
    other.push(pkt(901, 3077, vp8(5001), 2222));
    sent.length = 0;
    down.handleNack([65535, 1]);
    expect(sent.map((s) => [s.ssrc, s.seq, s.ts, ((s.bytes[2]! & 0x7f) << 8) | s.bytes[3]!])).toEqual([
      [4242, 65535, 4000, 11],
      [4242, 1, 4000 + 3000 + 3000, 13],
    ]);
    expect(up.nacked).toEqual([]);
  });

  it('audio starts with the next packet, no replay', () => {
    const { down, up, sent } = setup('audio');
    up.replayValue = { packets: [pkt(1, 1)], complete: true, nextSeq: 2 };
    down.setSource(up);
    expect(sent).toHaveLength(0);
    up.push(pkt(5, 960));
    expect(sent.map((s) => s.seq)).toEqual([5]);
  });

  it('turns PLI into a keyframe request and keeps REMB, loss, jitter and RTT', () => {
    const { down, up, clock } = setup();
    down.setSource(up);
    down.handleKeyframeRequest();
    expect(up.keyframeRequests).toBe(2); // one at attach (nothing cached), one for the PLI
    down.handleRemb(750_000);
    expect(down.maxBitrate()).toBe(750_000);
    up.push(pkt(1, 0));
    const sr = down.senderReport(20_000)!;
    expect(sr.ssrc).toBe(4242);
    expect(sr.rtpTimestamp).toBe((20_000 * 90) >>> 0);
    expect(sr.packetCount).toBe(1);
    clock.advance(10_100); // now = 20_100
    const lsr = Number((sr.ntpTimestamp >> 16n) & 0xffffffffn);
    down.handleReport({ fractionLost: 64, jitter: 900, lsr, dlsr: 65536 / 20 });
    const st = down.stats(20_100);
    expect(st.loss).toBe(0.25);
    expect(st.jitter).toBe(10);
    expect(st.rtt).toBeCloseTo(50, 0);
    // 25% loss while sending almost nothing: the loss estimate (at its floor) is now below the REMB.
    expect(st.maxBitrate).toBe(MIN_LOSS_RATE);
    expect(down.maxBitrate()).toBe(MIN_LOSS_RATE);
  });

  it('sends no sender report before the first packet', () => {
    const { down, up } = setup();
    down.setSource(up);
    expect(down.senderReport(1)).toBeUndefined();
  });

  it('leaves out VP8 temporal layers above its maximum, numbering the rest without a gap; NACKs map back', () => {
    const { down, up, sent } = setup();
    down.setSource(up);
    // X=1 | I T | 7-bit picture id | TID, then a payload byte; TIDs in the usual L1T3 pattern 0,2,1,2.
    const tl = (seq: number, tid: number) => pkt(seq, seq * 3000, Buffer.from([0x90, 0xa0, seq & 0x7f, tid << 6, 0x9d]));
    const tids = [0, 2, 1, 2, 0, 2, 1, 2, 0];
    down.maxTemporalLayer = 1;
    tids.forEach((tid, i) => up.push(tl(65533 + i, tid)));
    expect(sent.map((s) => s.bytes[3]! >> 6)).toEqual([0, 1, 0, 1, 0]);
    expect(sent.map((s) => s.seq)).toEqual([65533, 65534, 65535, 0, 1]);
    expect(down.counters.temporalDropped).toBe(4);
    // The viewer lost what it got as seq 0 (upstream 65533 + 6, TID 1): resent as 0 from the right packet.
    sent.length = 0;
    down.handleNack([0]);
    expect(sent.map((s) => [s.seq, s.bytes[3]! >> 6, s.ts])).toEqual([[0, 1, ((65533 + 6) * 3000) >>> 0]]);
  });

  it('close detaches', () => {
    const { down, up } = setup();
    down.setSource(up);
    down.close();
    down.close();
    expect(up.downs.size).toBe(0);
  });
});
