/**
 * A werift candidate pair keeps a bounded number of STUN transaction ids with the fix installed, and still
 * counts a retransmission of a recent request.
 */
import { Candidate, CandidatePair } from 'werift';
import { describe, expect, it } from 'vitest';
import { heldStunRequestIds, installBoundedStunRequestIds, STUN_REQUEST_IDS_KEPT } from './stunRequestIds.js';

function pair(): CandidatePair {
  const remote = new Candidate('1', 1, 'udp', 1, '127.0.0.1', 9, 'host');
  return new CandidatePair({} as ConstructorParameters<typeof CandidatePair>[0], remote, false);
}

const id = (i: number) => i.toString(16).padStart(24, '0');

describe('bounded STUN request ids (werift CandidatePair)', () => {
  installBoundedStunRequestIds();

  it('a pair that received 10,000 requests holds at most two generations of ids', () => {
    const p = pair();
    for (let i = 0; i < 10_000; i++) expect(p.noteIncomingRequest(id(i))).toBe(false);
    expect(heldStunRequestIds(p)).toBeLessThanOrEqual(2 * STUN_REQUEST_IDS_KEPT);
    expect(p.retransmissionsReceived).toBe(0);
  });

  it('a retransmission of a recent request is recognised and counted, also across a generation change', () => {
    const p = pair();
    for (let i = 0; i < STUN_REQUEST_IDS_KEPT; i++) p.noteIncomingRequest(id(i));
    expect(p.noteIncomingRequest(id(STUN_REQUEST_IDS_KEPT - 1))).toBe(true); // still in the current generation
    p.noteIncomingRequest(id(1000)); // starts a new generation
    expect(p.noteIncomingRequest(id(0))).toBe(true); // found in the previous one
    expect(p.retransmissionsReceived).toBe(2);
    expect(p.noteIncomingRequest(id(1001))).toBe(false);
  });
});
