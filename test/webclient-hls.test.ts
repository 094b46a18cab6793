/**
 * The web client's HLS fallback in headless Chromium: a viewer switches to the live HLS stream by hand and
 * hls.js plays it; a viewer whose WebRTC cannot connect (its ICE candidates are rewritten to a dead port
 * in the page) falls back to HLS by itself and plays. The lecture comes from a werift WHIP publisher.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, type LoopbackContext } from './helpers/browser.js';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { createPublisherPeer, startTestMedia, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { sleep, waitUntil } from './helpers/wait.js';
import { signHs256 } from './helpers/jwt.js';

const hsKey = randomBytes(32);
const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

let server: TestServer;
let stun: LoopbackStun;
let media: TestMedia;
let browser: Browser;
const contexts: LoopbackContext[] = [];
const watches: PageWatch[] = [];
const cleanups: (() => Promise<unknown> | void)[] = [];

async function publish(): Promise<void> {
  const peer = createPublisherPeer({ stunPort: stun.port });
  cleanups.push(() => peer.close());
  const now = Math.floor(Date.now() / 1000);
  const token = jwt({ sub: 'prof', aud: `${server.url}/group/lecture/`, permissions: ['present'], iat: now, exp: now + 600 });
  const res = await fetch(new URL('/group/lecture/.whip', server.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
    body: await peer.createOffer(),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${text}`);
  await peer.setAnswer(text);
  const offV = media.onVideo((rtp) => peer.sendVideo(rtp));
  const offA = media.onAudio((rtp) => peer.sendAudio(rtp));
  cleanups.push(() => void (offV(), offA()));
}

/** A student's page, joined; with `breakIce`, every ICE candidate the page learns points at a dead port. */
async function student(name: string, breakIce: boolean): Promise<PageWatch> {
  const ctx = await newLoopbackContext(browser, server.url);
  contexts.push(ctx);
  if (breakIce) {
    await ctx.context.addInitScript(() => {
      const dead = (sdp: string) => sdp.replace(/^(a=candidate:\S+ \d+ udp \d+ \S+ )\d+/gim, '$19');
      const proto = RTCPeerConnection.prototype;
      const setRemote = proto.setRemoteDescription as (this: RTCPeerConnection, d?: RTCSessionDescriptionInit) => Promise<void>;
      proto.setRemoteDescription = function (this: RTCPeerConnection, desc?: RTCSessionDescriptionInit) {
        return setRemote.call(this, desc && desc.sdp ? { type: desc.type, sdp: dead(desc.sdp) } : desc);
      } as typeof proto.setRemoteDescription;
      proto.addIceCandidate = function () {
        return Promise.resolve();
      } as typeof proto.addIceCandidate;
    });
  }
  const w = new PageWatch(await ctx.context.newPage(), name);
  watches.push(w);
  expect((await w.page.goto(`${server.url}/group/lecture/`))?.status()).toBe(200);
  await w.page.getByLabel('Username').fill('student');
  await w.page.getByLabel('Password').fill('st-pw');
  await w.page.getByRole('button', { name: 'Join' }).click();
  await w.page.getByRole('button', { name: 'Leave' }).waitFor({ timeout: 30_000 });
  return w;
}

/** The HLS <video>'s currentTime advances by at least 3 s (within 30 s of wall time). */
async function playsHls(page: Page): Promise<{ advanced: number; wallMs: number }> {
  const now = () => page.evaluate(() => (document.querySelector('video.hls-video') as HTMLVideoElement | null)?.currentTime ?? 0);
  await waitUntil('HLS playback starts', now, (t) => t > 0, 30_000);
  const t0 = await now();
  const wall0 = Date.now();
  const t1 = await waitUntil('HLS playback advances 3 s', now, (t) => t - t0 >= 3, 30_000);
  return { advanced: t1 - t0, wallMs: Date.now() - wall0 };
}

const indicator = (page: Page) => page.locator('.hls-indicator');

beforeAll(async () => {
  await buildClient();
  stun = await startLoopbackStun();
  server = await startTestServer({
    groups: {
      lecture: {
        authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
        users: { prof: { password: 'prof-pw', permissions: 'present' }, student: { password: 'st-pw', permissions: 'observe' } },
      },
    },
  });
  fs.writeFileSync(path.join(server.dir, 'data', 'ice-servers.json'), JSON.stringify([{ urls: `stun:127.0.0.1:${stun.port}` }]));
  media = await startTestMedia({ gop: 60 });
  await media.firstVideo();
  await publish();
  browser = await launchBrowser();
  // The live playlist exists before any page asks for it.
  const auth = { Authorization: `Basic ${Buffer.from('student:st-pw').toString('base64')}` };
  await waitUntil(
    'the live playlist',
    () => fetch(new URL('/group/lecture/.hls/index.m3u8', server.url), { headers: auth }).then((r) => (r.ok ? r.text() : '')),
    (t) => /\.m4s/.test(t),
    30_000,
  );
}, 90_000);

afterEach((c) => checkPagesAfterTest(`webclient-hls-${c.task.name}`, c.task.result?.state === 'fail', watches.splice(0), contexts.splice(0)));

afterAll(async () => {
  await browser?.close();
  for (const c of cleanups.reverse()) await c();
  await media?.close();
  await server?.stop();
  await stun?.close();
}, 30_000);

describe('web client: HLS', () => {
  it('switches to HLS by hand, hls.js plays the live stream and shows how far behind live it is; and back', async () => {
    const w = await student('manual', false);
    await w.page.locator('video[data-role="main"]').waitFor({ timeout: 30_000 });
    await sleep(6000); // WebRTC works: no automatic switch
    expect(await indicator(w.page).isHidden()).toBe(true);
    await w.page.getByRole('button', { name: 'Switch to HLS' }).click();
    await expect.poll(() => indicator(w.page).textContent(), { timeout: 10_000 }).toMatch(/^HLS mode/);
    const played = await playsHls(w.page);
    expect(played.advanced).toBeGreaterThanOrEqual(3);
    await expect.poll(() => indicator(w.page).textContent(), { timeout: 10_000 }).toMatch(/^HLS mode · \d+\.\d s behind live$/);
    expect(await w.page.locator('video[data-role="main"]').isVisible()).toBe(false);

    await w.page.getByRole('button', { name: 'Switch to WebRTC' }).click();
    await expect.poll(() => indicator(w.page).isHidden()).toBe(true);
    expect(await w.page.locator('video.hls-video').count()).toBe(0);
    expect(await w.page.locator('video[data-role="main"]').isVisible()).toBe(true);
  }, 120_000);

  it('falls back to HLS by itself when WebRTC cannot connect, and plays', async () => {
    const w = await student('fallback', true);
    const joinedAt = Date.now();
    await expect.poll(() => indicator(w.page).textContent(), { timeout: 30_000 }).toMatch(/^HLS mode/);
    const after = Date.now() - joinedAt;
    const states = await w.page.evaluate(() =>
      [...(window as unknown as { lectern: { conn: { down: Map<string, { pc: RTCPeerConnection }> } } }).lectern.conn.down.values()].map(
        (s) => s.pc.iceConnectionState,
      ),
    );
    expect(states.length).toBeGreaterThan(0); // the server did offer the lecture over WebRTC
    expect(states).not.toContain('connected');
    expect(states).not.toContain('completed');
    expect(after).toBeGreaterThanOrEqual(4000); // it gave WebRTC its ~5 s first
    expect(await w.page.locator('#notice').textContent()).toBe('WebRTC could not connect: playing the HLS stream instead.');
    const played = await playsHls(w.page);
    expect(played.advanced).toBeGreaterThanOrEqual(3);
    expect(await w.page.getByRole('button', { name: 'Switch to WebRTC' }).isVisible()).toBe(true);
  }, 120_000);
});
