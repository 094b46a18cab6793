import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket } from 'werift';
import { CODECS } from '../../forward/codecs.js';
import type { DownTrack, UpTrack } from '../../forward/types.js';
import { TrackRecorder, type Frame } from './TrackRecorder.js';

/** A VP8 RTP payload: descriptor (S bit on the first packet of a frame, partition 0) + a byte of frame. */
function vp8(start: boolean, key: boolean, byte: number): Buffer {
  const desc = start ? 0x10 : 0x00;
  // The first byte of a VP8 frame: bit 0 clear on a keyframe.
  return Buffer.from([desc, start ? (key ? 0x00 : 0x01) : byte, byte]);
}

function packet(seq: number, ts: number, marker: boolean, payload: Buffer): RtpPacket {
  return new RtpPacket(new RtpHeader({ sequenceNumber: seq & 0xffff, timestamp: ts, marker, payloadType: 96, ssrc: 1 }), payload);
}

class FakeUp implements Pick<UpTrack, 'id' | 'kind' | 'codec' | 'getPacket' | 'requestKeyframe'> {
  readonly id = 'up';
  readonly codec = { ...CODECS.vp8, payloadType: 96 };
  readonly cache = new Map<number, RtpPacket>();
  keyframeRequests = 0;
  constructor(readonly kind: 'audio' | 'video' = 'video') {}
  getPacket(seq: number) {
    return this.cache.get(seq);
  }
  requestKeyframe() {
    this.keyframeRequests++;
  }
}

function setup(kind: 'audio' | 'video' = 'video') {
  const up = new FakeUp(kind);
  let now = 0;
  const frames: Frame[] = [];
  const rec: DownTrack & TrackRecorder = new TrackRecorder(up as unknown as UpTrack, (f) => frames.push(f), () => now);
  return { up, rec, frames, advance: (ms: number) => (now += ms) };
}

/** Frame n (two packets) at seq 2n, 2n+1; keyframe when key. */
function framePackets(n: number, key: boolean, seqBase = 0): [RtpPacket, boolean][] {
  const ts = n * 3000;
  return [
    [packet(seqBase + 2 * n, ts, false, vp8(true, key, n)), key],
    [packet(seqBase + 2 * n + 1, ts, true, vp8(false, key, n)), false],
  ];
}

describe('TrackRecorder', () => {
  it('waits for a keyframe, then assembles frames from packets in order', () => {
    const { rec, frames } = setup();
    for (const [p, k] of [...framePackets(0, false), ...framePackets(1, true), ...framePackets(2, false)]) rec.write(p, k);
    expect(frames.map((f) => [f.timestamp, f.keyframe])).toEqual([
      [3000, true],
      [6000, false],
    ]);
  });

  it('puts reordered packets back in order, across the sequence-number wrap', () => {
    const { rec, frames } = setup();
    const ps = [...framePackets(0, true, 65533), ...framePackets(1, false, 65533), ...framePackets(2, false, 65533)];
    const order = [0, 2, 1, 3, 5, 4];
    for (const i of order) rec.write(ps[i]![0], ps[i]![1]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000, 6000]);
  });

  it('fills a hole from the packet cache (a NACKed retransmission)', () => {
    const { rec, frames, up } = setup();
    const ps = [...framePackets(0, true), ...framePackets(1, false)];
    up.cache.set(2, ps[2]![0]);
    for (const i of [0, 1, 3]) rec.write(ps[i]![0], ps[i]![1]);
    expect(frames.map((f) => f.timestamp)).toEqual([0, 3000]);
    expect(up.keyframeRequests).toBe(0);
  });

  it('gives up a packet that never comes: drops that frame and what follows until a keyframe, asking for one', () => {
    const { rec, frames, up, advance } = setup();
    const ps = [
      ...framePackets(0, true),
      ...framePackets(1, false),
      ...framePackets(2, false),
      ...framePackets(3, true),
    ];
    rec.write(ps[0]![0], ps[0]![1]);
    rec.write(ps[1]![0], ps[1]![1]);
    // Packet 2 (start of frame 1) is lost.
    rec.write(ps[3]![0], ps[3]![1]);
    rec.write(ps[4]![0], ps[4]![1]);
    expect(frames).toHaveLength(1); // still waiting for packet 2
    advance(1000);
    rec.write(ps[5]![0], ps[5]![1]);
    expect(up.keyframeRequests).toBe(1);
    for (const i of [6, 7]) rec.write(ps[i]![0], ps[i]![1]);
    expect(frames.map((f) => [f.timestamp, f.keyframe])).toEqual([
      [0, true],
      [9000, true],
    ]);
    expect(rec.droppedFrames).toBeGreaterThan(0);
  });

  it('audio: every packet is a frame, a lost one is skipped without waiting for a keyframe', () => {
    const { rec, frames, advance } = setup('audio');
    (rec.up as unknown as { codec: unknown }).codec = { ...CODECS.opus, payloadType: 111 };
    const a = (seq: number) => packet(seq, seq * 960, true, Buffer.from([0xfc, seq]));
    rec.write(a(10), false);
    rec.write(a(12), false);
    advance(1000);
    rec.write(a(13), false);
    expect(frames.map((f) => f.timestamp)).toEqual([9600, 11520, 12480]);
  });

  it('flush() emits the complete frames still held behind a hole', () => {
    const { rec, frames } = setup();
    const ps = [...framePackets(0, true), ...framePackets(1, false), ...framePackets(2, true)];
    for (const i of [0, 1, 2, 4, 5]) rec.write(ps[i]![0], ps[i]![1]); // packet 3 (end of frame 1) lost
    expect(frames).toHaveLength(1);
    rec.flush();
    expect(frames.map((f) => f.timestamp)).toEqual([0, 6000]);
  });

  it('a new source, or numbering that restarts far behind, starts afresh at its next keyframe', () => {
    const { rec, frames } = setup();
    for (const [p, k] of [...framePackets(0, true, 30_000), ...framePackets(1, false, 30_000)]) rec.write(p, k);
    // The encoder restarted: sequence numbers far behind, same SSRC; its first frame is not a keyframe.
    for (const [p, k] of [...framePackets(5, false, 100), ...framePackets(6, true, 100)]) rec.write(p, k);
    // Then another SSRC.
    const other = framePackets(9, true, 7);
    for (const [p, k] of other) {
      p.header.ssrc = 2;
      rec.write(p, k);
    }
    expect(frames.map((f) => [f.timestamp, f.keyframe, f.ssrc])).toEqual([
      [0, true, 1],
      [3000, false, 1],
      [18000, true, 1],
      [27000, true, 2],
    ]);
  });
});
