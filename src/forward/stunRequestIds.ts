/**
 * werift 0.24.4 remembers the transaction id of every STUN request a candidate pair ever received
 * (`CandidatePair.requestTransactionIds`, a Set that is never trimmed), only to count retransmissions in its
 * stats. On a server every viewer's and publisher's pair gets a consent check every few seconds (werift
 * peers every 5 s, Chromium every 2.5 s) for as long as the connection lives: ~40-80 KB of heap per
 * connection and hour, which a long lecture never gives back.
 *
 * `installBoundedStunRequestIds()` makes `noteIncomingRequest` keep two generations of at most
 * `STUN_REQUEST_IDS_KEPT` ids each: when the current one is full it becomes the previous one (the older is
 * dropped). A retransmission is still recognised (and counted, as werift does) when fewer than that many
 * other requests reached the pair since its original: a client retransmits within seconds. Idempotent.
 * Re-check `noteIncomingRequest` when upgrading werift.
 */
import { CandidatePair } from 'werift';

/** Transaction ids per generation; a pair holds at most twice this many. */
export const STUN_REQUEST_IDS_KEPT = 32;

/** The fields of werift's CandidatePair that `noteIncomingRequest` uses. */
interface PairFields {
  requestTransactionIds: Set<string>;
  retransmissionsReceived: number;
}

const previous = new WeakMap<object, Set<string>>();
let installed = false;

export function installBoundedStunRequestIds(): void {
  if (installed) return;
  installed = true;
  const proto = CandidatePair.prototype as unknown as { noteIncomingRequest(this: PairFields, id: string): boolean };
  proto.noteIncomingRequest = function (id) {
    if (this.requestTransactionIds.has(id) || previous.get(this)?.has(id) === true) {
      this.retransmissionsReceived++;
      return true;
    }
    if (this.requestTransactionIds.size >= STUN_REQUEST_IDS_KEPT) {
      previous.set(this, this.requestTransactionIds);
      this.requestTransactionIds = new Set();
    }
    this.requestTransactionIds.add(id);
    return false;
  };
}

/** The transaction ids a pair holds now (tests). */
export function heldStunRequestIds(pair: object): number {
  return ((pair as Partial<PairFields>).requestTransactionIds?.size ?? 0) + (previous.get(pair)?.size ?? 0);
}
