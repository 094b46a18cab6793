/**
 * `--internal-http`: the plain-HTTP listener egress workers use (compose's worker reaches the server on it, no
 * certificate to verify). It serves WHEP to a request with a Bearer token and nothing else; the live HLS job
 * subscribes through it even when proxyURL names a host nobody can reach.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { createPublisherPeer, startTestMedia, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil } from './helpers/wait.js';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { signHs256 } from './helpers/jwt.js';

let server: TestServer;
let stun: LoopbackStun;
let media: TestMedia;
const cleanups: (() => Promise<unknown> | void)[] = [];
const hsKey = randomBytes(32);
const prof = { Authorization: `Basic ${Buffer.from('prof:prof-pw').toString('base64')}` };

function presenterToken(): string {
  const now = Math.floor(Date.now() / 1000);
  return signHs256(hsKey, { sub: 'prof', aud: `${server.url}/group/lecture/`, permissions: ['present'], iat: now, exp: now + 600 });
}

beforeAll(async () => {
  stun = await startLoopbackStun();
  server = await startTestServer({
    internal: true,
    // A public URL this machine cannot reach: a live job that used it instead of the internal URL would fail.
    config: { proxyURL: 'https://lectern.invalid' },
    groups: {
      lecture: {
        authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
        users: { prof: { password: 'prof-pw', permissions: 'present' } },
        'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
      },
    },
  });
  fs.writeFileSync(path.join(server.dir, 'data', 'ice-servers.json'), JSON.stringify([{ urls: `stun:127.0.0.1:${stun.port}` }]));
  media = await startTestMedia({ gop: 60 });
  await media.firstVideo();
}, 30_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await media?.close();
  await server?.stop();
  await stun?.close();
}, 30_000);

describe('--internal-http', () => {
  it('serves only WHEP, only with a Bearer token: pages, the admin API, recordings and WHIP are not there', async () => {
    const base = server.internalUrl!;
    expect(base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const p of ['/', '/public-groups.json', '/group/lecture/', '/galene-api/v0/.stats', '/recordings/lecture/', '/group/lecture/.whip', '/metrics']) {
      const res = await fetch(base + p, { headers: prof });
      expect(res.status, p).toBe(404);
      expect(await res.text()).toContain('only WHEP');
    }
    // The group lets anyone watch, yet the internal listener wants a token.
    const anon = await fetch(`${base}/group/lecture/.whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: 'v=0\r\n' });
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toBe('Bearer');
    // A token that is no token of this server is refused by the join, as on the main listener.
    const forged = await fetch(`${base}/group/lecture/.whep`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: 'Bearer not-a-token' },
      body: await createPublisherPeer({ stunPort: stun.port }).createOffer(),
    });
    expect(forged.status).toBeGreaterThanOrEqual(400);
    expect(forged.status).toBeLessThan(500);
  });

  it("the live HLS job subscribes through it: the lecture's live playlist fills", async () => {
    const peer = createPublisherPeer({ stunPort: stun.port });
    const res = await fetch(new URL('/group/lecture/.whip', server.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${presenterToken()}` },
      body: await peer.createOffer(),
    });
    const answer = await res.text();
    expect(res.status, answer).toBe(201);
    await peer.setAnswer(answer);
    const offV = media.onVideo((rtp) => peer.sendVideo(rtp));
    const offA = media.onAudio((rtp) => peer.sendAudio(rtp));
    cleanups.push(async () => {
      offV();
      offA();
      await peer.close();
    });
    const live = await waitUntil(
      'a segment in the live playlist',
      async () => (await fetch(new URL('/group/lecture/.hls/index.m3u8', server.url))).text(),
      (t) => /^[^#].*\.m4s$/m.test(t),
      60_000,
    );
    expect(live).toMatch(/^#EXTM3U\n/);
  }, 90_000);
});
