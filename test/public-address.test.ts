/**
 * NAT 1:1 (`--public-address`, config.json's `publicAddresses`): the server's host candidates carry the
 * announced address and the real local port (checked in the SDP of WHIP and WHEP answers). Media through an
 * announced address is not tested on loopback: werift's ICE sockets are bound on the wildcard address, so a
 * NAT forwarder on another loopback address cannot take the server's port, and a peer checking 127.0.0.2
 * gets its answers from 127.0.0.1 and does not connect.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { createPublisherPeer, startTestMedia, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { WhepPeer } from './helpers/whepPeer.js';

const NAT_GROUP = {
  users: { whip: { password: { type: 'wildcard' }, permissions: ['present'] } },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: [] },
};
const RANGE: [number, number] = [47100, 47199];
let stun: LoopbackStun;
let media: TestMedia;
const cleanups: (() => unknown)[] = [];

function candidates(sdp: string): { address: string; port: number }[] {
  return [...sdp.matchAll(/^a=candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ host/gm)].map((m) => ({ address: m[1]!, port: Number(m[2]) }));
}

async function post(server: TestServer, kind: 'whip' | 'whep', sdp: string): Promise<string> {
  const res = await fetch(new URL(`/group/nat/.${kind}`, server.url), { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: sdp });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`${kind} POST: ${res.status} ${text}`);
  return text;
}

beforeAll(async () => {
  stun = await startLoopbackStun();
  media = await startTestMedia();
});
afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await media.close();
  await stun.close();
});

describe('announced public addresses (NAT 1:1)', () => {
  it("an answer's host candidates carry the announced address and the local port", async () => {
    const server = await startTestServer({
      groups: { nat: NAT_GROUP },
      config: { publicAddresses: ['203.0.113.9'] },
      portRange: RANGE,
    });
    cleanups.push(() => server.stop());
    const peer = createPublisherPeer({ stunPort: stun.port });
    cleanups.push(() => peer.close());
    const answer = await post(server, 'whip', await peer.createOffer());
    const cands = candidates(answer);
    expect(cands.length).toBeGreaterThan(0);
    for (const c of cands) {
      expect(c.address).toBe('203.0.113.9');
      expect(c.port).toBeGreaterThanOrEqual(RANGE[0]);
      expect(c.port).toBeLessThanOrEqual(RANGE[1]);
    }
    expect(answer).not.toMatch(/^a=candidate:.* 127\.0\.0\.1 /m);

    const viewer = new WhepPeer(stun.port);
    cleanups.push(() => viewer.close());
    const whep = candidates(await post(server, 'whep', await viewer.offer()));
    expect(whep.length).toBeGreaterThan(0);
    expect(whep.every((c) => c.address === '203.0.113.9' && c.port >= RANGE[0] && c.port <= RANGE[1])).toBe(true);
  });
});
