import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket, SrtpSession } from 'werift';
import { GcmState, RolloverCounter, withTwccExtension, writeRtpHeader } from './directSend.js';

const GCM = 0x0007;
const AES_CM = 0x0001;

function sessions(profile = GCM) {
  const key = randomBytes(16);
  const salt = randomBytes(12);
  const other = { key: randomBytes(16), salt: randomBytes(12) };
  // werift's session for the sender (local = our keys) and for the viewer (remote = our keys).
  const sender = new SrtpSession({
    keys: { localMasterKey: key, localMasterSalt: salt, remoteMasterKey: other.key, remoteMasterSalt: other.salt },
    profile,
  });
  const viewer = new SrtpSession({
    keys: { localMasterKey: other.key, localMasterSalt: other.salt, remoteMasterKey: key, remoteMasterSalt: salt },
    profile,
  });
  return { sender, viewer };
}

function header(seq: number, csrc: number[] = []): RtpHeader {
  return new RtpHeader({ payloadType: 96, sequenceNumber: seq, timestamp: 0xfffffff0 + seq, ssrc: 0x9abcdef0, marker: seq % 2 === 0, csrc });
}

describe('RolloverCounter', () => {
  it('counts wraps, and gives a late packet from before a wrap its old ROC', () => {
    const r = new RolloverCounter();
    expect(r.roc(65534)).toBe(0);
    expect(r.roc(65535)).toBe(0);
    expect(r.roc(0)).toBe(1);
    expect(r.roc(65533)).toBe(0); // retransmission of a packet sent before the wrap
    expect(r.roc(1)).toBe(1);
    expect(r.roc(30000)).toBe(1);
    expect(r.roc(2)).toBe(1); // late, still before the next wrap
    expect(r.roc(60000)).toBe(1);
    expect(r.roc(65535)).toBe(1);
    expect(r.roc(3)).toBe(2);
  });
});

describe('GcmState.protect', () => {
  it('writes the same bytes as werift’s SRTP, including CSRCs and the marker bit', () => {
    const { sender } = sessions();
    const ctx = (sender as unknown as { localContext: ConstructorParameters<typeof GcmState>[0] }).localContext;
    const ours = new GcmState(ctx);
    // A second, independent werift session with the same keys (werift's encrypt keeps its own ROC state).
    for (const csrc of [[], [1, 2, 3]]) {
      const payload = randomBytes(1000);
      const h = header(7, csrc);
      const expected = sender.encrypt(payload, h);
      expect(Buffer.concat(ours.protect(writeRtpHeader(h), payload, h.ssrc, h.sequenceNumber))).toEqual(expected);
    }
  });

  it('a viewer decrypts every packet across a sequence-number wrap, retransmissions included', () => {
    const { sender, viewer } = sessions();
    const ours = new GcmState((sender as unknown as { localContext: ConstructorParameters<typeof GcmState>[0] }).localContext);
    const seqs = [65530, 65531, 65532, 65533, 65534, 65535, 0, 1, 2, 65534, 3, 4];
    for (const seq of seqs) {
      const payload = randomBytes(200 + seq % 50);
      const h = header(seq);
      const datagram = Buffer.concat(ours.protect(writeRtpHeader(h), payload, h.ssrc, seq));
      const clear = viewer.decrypt(datagram);
      expect(clear.subarray(12)).toEqual(payload);
      expect(clear.readUInt16BE(2)).toBe(seq);
    }
  });

  it('with TWCC, a viewer reads the transport-wide sequence number from the header extension', () => {
    const { sender, viewer } = sessions();
    const ours = new GcmState((sender as unknown as { localContext: ConstructorParameters<typeof GcmState>[0] }).localContext);
    for (const [csrc, seq] of [[[], 65535], [[7], 0]] as const) {
      const payload = randomBytes(300);
      const h = header(100, [...csrc]);
      const datagram = Buffer.concat(ours.protect(writeRtpHeader(h, 3, seq), payload, h.ssrc, h.sequenceNumber));
      const p = RtpPacket.deSerialize(viewer.decrypt(datagram));
      expect(p.payload).toEqual(payload);
      expect(p.header.csrc).toEqual(csrc);
      expect(p.header.extensions.map((e) => e.id)).toEqual([3]);
      expect(p.header.extensions[0]!.payload.readUInt16BE(0)).toBe(seq);
    }
  });
});

describe('withTwccExtension', () => {
  it('numbers a packet sent through werift (AES-CM), leaving the shared header as it was', () => {
    const { sender, viewer } = sessions(AES_CM);
    const h = header(8, [5]);
    const payload = randomBytes(300);
    const datagram = sender.encrypt(payload, withTwccExtension(h, 4, 0xfffe));
    const p = RtpPacket.deSerialize(viewer.decrypt(datagram));
    expect(p.payload).toEqual(payload);
    expect([p.header.sequenceNumber, p.header.timestamp, p.header.ssrc, p.header.marker, p.header.csrc]).toEqual([8, h.timestamp, h.ssrc, true, [5]]);
    expect(p.header.extensions.map((e) => e.id)).toEqual([4]);
    expect(p.header.extensions[0]!.payload.readUInt16BE(0)).toBe(0xfffe);
    expect(h.extension).toBe(false);
    expect(h.extensions).toEqual([]);
  });
});
