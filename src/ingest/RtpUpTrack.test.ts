import { RtpHeader, RtpPacket } from 'werift';
import { describe, expect, it } from 'vitest';
import { CODECS } from '../forward/codecs.js';
import type { DownTrack, RtpCodec } from '../forward/types.js';
import { MAX_BITRATE, MIN_BITRATE, upstreamRate } from '../forward/upstreamRate.js';
import { RtpUpTrack, type UpstreamFeedback } from './RtpUpTrack.js';

const vp8: RtpCodec = { ...CODECS.vp8, payloadType: 96 };
const KEY = Buffer.from([0x10, 0x00, 0xaa]); // VP8 descriptor S=1 PID=0, payload header P=0
const DELTA_START = Buffer.from([0x10, 0x01, 0xbb]);
const CONT = Buffer.from([0x00, 0xcc]);

function pkt(seq: number, ts: number, payload: Buffer, ssrc = 1234): RtpPacket {
  return new RtpPacket(new RtpHeader({ ssrc, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, payloadType: 96 }), payload);
}

function setup() {
  const sent = { nacks: [] as number[][], plis: 0 };
  const feedback: UpstreamFeedback = {
    sendNack: (_ssrc, seqs) => sent.nacks.push(seqs),
    sendPli: () => sent.plis++,
  };
  let now = 1000;
  const clock = { advance: (ms: number) => (now += ms) };
  const track = new RtpUpTrack({ id: 't', kind: 'video', label: 'camera', rid: undefined, codec: vp8, feedback, now: () => now });
  return { track, sent, clock };
}

class RecordingDown implements DownTrack {
  readonly got: [number, boolean][] = [];
  constructor(readonly id: string) {}
  write(p: RtpPacket, keyframe: boolean): void {
    this.got.push([p.header.sequenceNumber, keyframe]);
  }
  maxBitrate(): number | undefined {
    return undefined;
  }
}

describe('RtpUpTrack', () => {
  it('fans each new packet out once, flagging keyframes, dropping duplicates and padding', () => {
    const { track } = setup();
    const a = new RecordingDown('a');
    const b = new RecordingDown('b');
    track.addDown(a);
    track.addDown(b);
    track.addDown(a);
    track.push(pkt(10, 0, KEY));
    track.push(pkt(11, 0, CONT));
    track.push(pkt(11, 0, CONT));
    track.push(pkt(12, 3000, Buffer.alloc(0)));
    track.push(pkt(13, 3000, DELTA_START));
    expect(a.got).toEqual([[10, true], [11, false], [13, false]]);
    expect(b.got).toEqual(a.got);
    expect(track.counters.duplicates).toBe(1);
    expect(track.counters.padding).toBe(1);
    track.removeDown(a);
    track.push(pkt(14, 3000, CONT));
    expect(a.got).toHaveLength(3);
    expect(b.got).toHaveLength(4);
  });

  it('answers from the cache and across the wrap', () => {
    const { track } = setup();
    for (let s = 65530; s < 65540; s++) track.push(pkt(s, s * 10, CONT));
    expect(track.getPacket(65535)?.header.timestamp).toBe(655350);
    expect(track.getPacket(3)?.header.timestamp).toBe(655390);
    expect(track.getPacket(4)).toBeUndefined();
  });

  it('NACKs upstream gaps once they are late, and viewer cache misses', () => {
    const { track, sent, clock } = setup();
    track.push(pkt(100, 0, CONT));
    track.push(pkt(102, 0, CONT));
    track.push(pkt(103, 0, CONT));
    expect(sent.nacks).toEqual([[101]]);
    clock.advance(5);
    track.nack([90, 95]);
    expect(sent.nacks).toEqual([[101], [90, 95]]);
    track.nack([90]); // too soon again
    expect(sent.nacks).toHaveLength(2);
  });

  it('limits keyframe requests to one PLI per 500 ms', () => {
    const { track, sent, clock } = setup();
    track.requestKeyframe(); // no SSRC yet: nothing to ask
    expect(sent.plis).toBe(0);
    track.push(pkt(1, 0, KEY));
    for (let i = 0; i < 50; i++) {
      track.requestKeyframe();
      clock.advance(10); // 50 requests over 500 ms
    }
    expect(sent.plis).toBe(1);
    track.requestKeyframe();
    expect(sent.plis).toBe(2);
    expect(track.counters.plisSuppressed).toBe(49);
  });

  it('replays a recent keyframe with what followed it', () => {
    const { track } = setup();
    track.push(pkt(500, 9000, DELTA_START));
    track.push(pkt(501, 12000, KEY));
    track.push(pkt(502, 12000, CONT));
    track.push(pkt(504, 15000, DELTA_START)); // 503 missing
    const r = track.replay();
    expect(r.complete).toBe(true);
    expect(r.nextSeq).toBe(505);
    expect(r.packets.map((p) => p.header.sequenceNumber)).toEqual([501, 502, 504]);
  });

  it('replays only the keyframe when it is old', () => {
    const { track } = setup();
    track.push(pkt(65530, 12000, KEY));
    track.push(pkt(65531, 12000, CONT));
    track.push(pkt(65532, 12000, CONT));
    for (let i = 0; i < 100; i++) track.push(pkt(65533 + i, 15000 + i * 3000, i % 3 === 0 ? DELTA_START : CONT));
    const r = track.replay();
    expect(r.complete).toBe(false);
    expect(r.packets.map((p) => p.header.sequenceNumber)).toEqual([65530, 65531, 65532]);
    expect(r.nextSeq).toBe((65533 + 100) & 0xffff);
  });

  it('has nothing to replay before a keyframe', () => {
    const { track } = setup();
    track.push(pkt(1, 0, DELTA_START));
    expect(track.replay().packets).toHaveLength(0);
  });

  it('keeps the last keyframe, in sequence order, after it left the cache', () => {
    const { track } = setup();
    track.push(pkt(2, 3000, KEY));
    track.push(pkt(4, 3000, CONT));
    track.push(pkt(3, 3000, CONT)); // reordered
    for (let s = 5; s < 700; s++) track.push(pkt(s, 6000 + s, CONT));
    expect(track.getPacket(2)).toBeUndefined();
    const r = track.replay();
    expect(r.complete).toBe(false);
    expect(r.packets.map((p) => p.header.sequenceNumber)).toEqual([2, 3, 4]);
    expect(r.nextSeq).toBe(700);
    track.push(pkt(700, 9000, KEY)); // a new keyframe replaces it
    expect(track.replay().packets.map((p) => p.header.sequenceNumber)).toEqual([700]);
  });

  it('starts afresh when the SSRC changes', () => {
    const { track } = setup();
    track.push(pkt(1, 0, KEY, 1));
    track.push(pkt(2, 0, CONT, 1));
    track.push(pkt(50, 0, CONT, 2));
    expect(track.getPacket(1)).toBeUndefined();
    expect(track.ssrc).toBe(2);
    expect(track.replay().packets).toHaveLength(0);
  });

  it('maps wall-clock time to RTP time from the last packet, then from the sender report', () => {
    const { track, clock } = setup();
    expect(track.rtpTimeAt(1000)).toBeUndefined();
    track.push(pkt(1, 90000, KEY));
    expect(track.rtpTimeAt(1100)).toBe(90000 + 9000);
    clock.advance(500);
    track.onSenderReport(0xffffff00);
    expect(track.rtpTimeAt(1500 + 1000)).toBe((0xffffff00 + 90000) >>> 0);
  });

  it('reports the largest downstream REMB; DownTracks without one (the recorder) are ignored', () => {
    const { track } = setup();
    const mk = (r: number | undefined): DownTrack => ({ id: String(r), write: () => {}, maxBitrate: () => r });
    track.addDown(mk(undefined)); // the recorder
    expect(track.downstreamMaxBitrate()).toBeUndefined();
    track.addDown(mk(800_000));
    track.addDown(mk(300_000));
    expect(track.downstreamMaxBitrate()).toBe(800_000);
  });

  it('a slow viewer rejoining does not hold the publisher down (the stuck-at-480x360 bug)', () => {
    const { track } = setup();
    let fast: number | undefined = 2_500_000;
    let rejoined: number | undefined;
    const viewer = (get: () => number | undefined): DownTrack => ({ id: 'v', write: () => {}, maxBitrate: get });
    const recorder: DownTrack = { id: 'rec', write: () => {}, maxBitrate: () => undefined };
    track.addDown(recorder);
    track.addDown(viewer(() => fast));
    const joiner = viewer(() => rejoined);
    track.addDown(joiner);
    expect(upstreamRate('video', 'h', track.downstreamMaxBitrate())).toBe(2_500_000);
    // The rejoining viewer's first REMB is Chrome's start estimate: the min-over-viewers rule sent it upstream.
    rejoined = 150_000;
    expect(upstreamRate('video', 'h', track.downstreamMaxBitrate())).toBe(2_500_000);
    // Even when the fast viewer's estimate dips, the publisher is held no lower than the floor.
    fast = 50_000;
    expect(upstreamRate('video', 'h', track.downstreamMaxBitrate())).toBe(MIN_BITRATE);
    track.removeDown(joiner);
    fast = undefined;
    expect(upstreamRate('video', 'h', track.downstreamMaxBitrate())).toBe(MAX_BITRATE);
  });

  it('isolates a failing DownTrack', () => {
    const { track } = setup();
    const ok = new RecordingDown('ok');
    track.addDown({ id: 'bad', write: () => { throw new Error('boom'); }, maxBitrate: () => undefined });
    track.addDown(ok);
    track.push(pkt(1, 0, KEY));
    expect(ok.got).toHaveLength(1);
    expect(track.counters.writeErrors).toBe(1);
  });
});
