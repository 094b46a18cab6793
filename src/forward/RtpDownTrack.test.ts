import { RtpHeader, RtpPacket } from 'werift';
import { describe, expect, it } from 'vitest';
import { CODECS } from './codecs.js';
import { PacketCache } from './PacketCache.js';
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
  readonly cache = new PacketCache<RtpPacket>(64);
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
  /** What the real up track does per packet. */
  push(p: RtpPacket, keyframe = false) {
    this.cache.put(p.header.sequenceNumber, p);
    for (const d of this.downs) d.write(p, keyframe);
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

  it('after switching to a source with nothing cached, waits for its keyframe and stays continuous', () => {
    const { down, up, sent } = setup();
    down.setSource(up);
    up.push(pkt(10, 1000));
    up.push(pkt(11, 4000));
    const other = new FakeUp();
    down.setSource(other);
    expect(up.downs.size).toBe(0);
    expect(other.keyframeRequests).toBe(1);
    other.push(pkt(7000, 50, undefined, 2222));
    other.push(pkt(7001, 3050, undefined, 2222), true);
    other.push(pkt(7002, 3050, undefined, 2222));
    expect(sent.map((s) => [s.seq, s.ts])).toEqual([
      [10, 1000],
      [11, 4000],
      [12, 7000],
      [13, 7000],
    ]);
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
    expect(st.maxBitrate).toBe(750_000);
  });

  it('sends no sender report before the first packet', () => {
    const { down, up } = setup();
    down.setSource(up);
    expect(down.senderReport(1)).toBeUndefined();
  });

  it('close detaches', () => {
    const { down, up } = setup();
    down.setSource(up);
    down.close();
    down.close();
    expect(up.downs.size).toBe(0);
  });
});
