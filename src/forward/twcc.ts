/**
 * Transport-wide congestion control feedback (draft-holmer-rmcat-transport-wide-cc-extensions-01), the
 * sending side: every RTP packet to a viewer that negotiated the header extension carries a transport-wide
 * sequence number; the viewer reports when each one arrived (RTPFB FMT 15), and `TwccSender` pairs those
 * arrival times with the send times it kept, for the DelayEstimator.
 *
 * werift 0.24.4 parses the feedback chunks and deltas correctly but its `packetResults` does not (status
 * vector chunks are left out, run lengths are off by one), so the walk over chunks is done here.
 */
import type { TransportWideCC } from 'werift';
import type { DelaySample } from './DelayEstimator.js';

export const TWCC_URI = 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01';
/** RTPFB FMT 15. */
export const TWCC_FEEDBACK_FORMAT = 15;

/** Packet status symbols of the feedback (draft §3.1.1). */
const RECEIVED_SMALL_DELTA = 1;
const RECEIVED_LARGE_DELTA = 2;
/** Send times kept: far more than the packets in flight between two feedbacks (power of 2). */
const HISTORY = 8192;

/** The extension's id in an SDP answer (bundled: the same on every m-line), or undefined if not negotiated. */
export function twccExtensionId(sdp: string): number | undefined {
  const m = /^a=extmap:(\d+)(?:\/\w+)? (\S+)/gm;
  for (const x of sdp.matchAll(m)) {
    if (x[2] === TWCC_URI) {
      const id = Number(x[1]);
      return id >= 1 && id <= 14 ? id : undefined; // one-byte header form only
    }
  }
  return undefined;
}

/**
 * The statuses a feedback message reports, in sequence order: [transport seq, arrival ms or undefined].
 * Arrival times are in the receiver's clock: reference time (64 ms units) plus the running sum of deltas.
 */
export function feedbackArrivals(fb: TransportWideCC): [number, number | undefined][] {
  const out: [number, number | undefined][] = [];
  const count = fb.packetStatusCount;
  let arrivalUs = fb.referenceTime * 64_000;
  let delta = 0;
  const push = (status: number): void => {
    const seq = (fb.baseSequenceNumber + out.length) & 0xffff;
    if (status === RECEIVED_SMALL_DELTA || status === RECEIVED_LARGE_DELTA) {
      const d = fb.recvDeltas[delta++];
      if (d?.delta === undefined) {
        out.push([seq, undefined]);
        return;
      }
      arrivalUs += d.delta;
      out.push([seq, arrivalUs / 1000]);
    } else {
      out.push([seq, undefined]);
    }
  };
  for (const chunk of fb.packetChunks) {
    if (out.length >= count) break;
    if ('runLength' in chunk) {
      const n = Math.min(chunk.runLength, count - out.length);
      for (let i = 0; i < n; i++) push(chunk.packetStatus);
    } else {
      for (const s of chunk.symbolList) {
        if (out.length >= count) break;
        push(s);
      }
    }
  }
  return out;
}

/** One viewer transport's transport-wide numbering and the send history its feedback is matched against. */
export class TwccSender {
  private nextSeq = 0;
  private readonly seqs = new Int32Array(HISTORY).fill(-1);
  private readonly sentAt = new Float64Array(HISTORY);
  private readonly sizes = new Uint16Array(HISTORY);

  /** @param extensionId the negotiated one-byte header extension id (1..14) */
  constructor(
    readonly extensionId: number,
    private readonly clock: () => number = () => performance.now(),
  ) {}

  /** The transport-wide sequence number of a packet of `bytes` sent now. */
  next(bytes: number): number {
    const seq = this.nextSeq;
    this.nextSeq = (seq + 1) & 0xffff;
    const i = seq & (HISTORY - 1);
    this.seqs[i] = seq;
    this.sentAt[i] = this.clock();
    this.sizes[i] = Math.min(bytes, 0xffff);
    return seq;
  }

  /** The packets a feedback message reports on that are still in the history, in sequence order. */
  samples(fb: TransportWideCC): DelaySample[] {
    const out: DelaySample[] = [];
    for (const [seq, arrivalMs] of feedbackArrivals(fb)) {
      const i = seq & (HISTORY - 1);
      if (this.seqs[i] !== seq) continue;
      out.push({ sendMs: this.sentAt[i]!, bytes: this.sizes[i]!, arrivalMs });
    }
    return out;
  }
}
