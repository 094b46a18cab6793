import { RtcpHeader, TransportWideCC } from 'werift';
import { describe, expect, it } from 'vitest';
import { feedbackArrivals, TWCC_URI, twccExtensionId, TwccSender } from './twcc.js';

/**
 * A feedback message written by hand (draft-holmer-rmcat-transport-wide-cc-extensions-01 §3.1), parsed by
 * werift as it parses what a viewer sends: base sequence 65534, six packets, reference time 10 (640 ms);
 * a run-length chunk (two received, small deltas) and a two-bit status vector chunk (lost, large delta,
 * small, small, then padding); deltas +1 ms, +2 ms, -1 ms (large), +3 ms, +5 ms.
 */
function handWrittenFeedback(): TransportWideCC {
  const fci = Buffer.from([
    0, 0, 0, 1, // sender SSRC
    0, 0, 0, 2, // media SSRC
    0xff, 0xfe, // base sequence number 65534
    0x00, 0x06, // packet status count
    0x00, 0x00, 0x0a, // reference time
    0x00, // feedback packet count
    0x20, 0x02, // run length: small delta x 2
    0xc9, 0x40, // status vector, 2-bit symbols: 00 10 01 01 00 00 00
    4, 8, 0xff, 0xfc, 12, 20, // deltas (250 us units; the third is a large, signed one)
    0, 0, // padding
  ]);
  return TransportWideCC.deSerialize(fci, new RtcpHeader({ type: 205, count: 15, length: fci.length / 4 }));
}

describe('TWCC feedback', () => {
  it('every status of a feedback message, across the sequence wrap, with arrival times in ms', () => {
    expect(feedbackArrivals(handWrittenFeedback())).toEqual([
      [65534, 641],
      [65535, 643],
      [0, undefined],
      [1, 642],
      [2, 645],
      [3, 650],
    ]);
  });

  it('the sender pairs the feedback with the send time and size of each packet it numbered', () => {
    let now = 0;
    const tx = new TwccSender(5, () => now);
    for (let i = 0; i < 65534; i++) tx.next(100);
    for (let i = 0; i < 6; i++) {
      now = 1000 + i * 10;
      expect(tx.next(1000 + i)).toBe((65534 + i) & 0xffff);
    }
    const s = tx.samples(handWrittenFeedback());
    expect(s).toEqual([
      { sendMs: 1000, bytes: 1000, arrivalMs: 641 },
      { sendMs: 1010, bytes: 1001, arrivalMs: 643 },
      { sendMs: 1020, bytes: 1002, arrivalMs: undefined },
      { sendMs: 1030, bytes: 1003, arrivalMs: 642 },
      { sendMs: 1040, bytes: 1004, arrivalMs: 645 },
      { sendMs: 1050, bytes: 1005, arrivalMs: 650 },
    ]);
  });

  it('packets the sender no longer remembers (or never sent) are left out', () => {
    const tx = new TwccSender(5, () => 0);
    tx.next(100); // seq 0 only: 65534, 65535 and 1-3 were never sent
    expect(tx.samples(handWrittenFeedback())).toEqual([{ sendMs: 0, bytes: 100, arrivalMs: undefined }]);
  });

  it('finds the negotiated extension id in an answer, and nothing when it was not negotiated', () => {
    const answer = ['v=0', 'm=video 9 UDP/TLS/RTP/SAVPF 96', 'a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid', `a=extmap:3 ${TWCC_URI}`, ''].join('\r\n');
    expect(twccExtensionId(answer)).toBe(3);
    expect(twccExtensionId(answer.replace(TWCC_URI, 'urn:other'))).toBeUndefined();
    expect(twccExtensionId(`a=extmap:15 ${TWCC_URI}\r\n`)).toBeUndefined();
  });
});
