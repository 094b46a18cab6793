/**
 * Lectern's own web client (src/web/client) in headless Chromium: a presenter publishes camera and microphone,
 * three viewers watch and listen, chat reaches everyone, a screen share becomes the viewers' main view (the
 * camera an inset over it), and one user does it all with the keyboard only.
 */
import { randomBytes } from 'node:crypto';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil as waitUntilMs } from './helpers/wait.js';
import { signHs256 } from './helpers/jwt.js';

const GROUP = 'lecture';
const STEP_MS = 30_000;
const VIEWERS = 3;
const TOKEN_GROUP = 'seminar';
const hsKey = randomBytes(32);

/** A JWT signed with the seminar group's HS256 key. */
const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

/** Drops the page's WebSocket as a network failure would (the client must reconnect and rejoin). */
async function dropSocket(page: Page): Promise<void> {
  await page.evaluate(() => (window as unknown as { lectern: { conn: { ws: WebSocket } } }).lectern.conn.ws.close());
}

/** What a page's <video data-role=…> shows: its size, label, and frames painted over `ms`. */
interface VideoProbe {
  found: boolean;
  label: string;
  videoWidth: number;
  videoHeight: number;
  paused: boolean;
  framesBefore: number;
  framesAfter: number;
}

async function probeVideo(page: Page, role: 'main' | 'side', ms: number): Promise<VideoProbe> {
  return page.evaluate(
    async ({ role, ms }) => {
      const v = document.querySelector(`video[data-role="${role}"]`);
      if (!(v instanceof HTMLVideoElement)) {
        return { found: false, label: '', videoWidth: 0, videoHeight: 0, paused: true, framesBefore: 0, framesAfter: 0 };
      }
      const framesBefore = v.getVideoPlaybackQuality().totalVideoFrames;
      await new Promise((r) => setTimeout(r, ms));
      return {
        found: true,
        label: v.dataset.label ?? '',
        videoWidth: v.videoWidth,
        videoHeight: v.videoHeight,
        paused: v.paused,
        framesBefore,
        framesAfter: v.getVideoPlaybackQuality().totalVideoFrames,
      };
    },
    { role, ms },
  );
}

/** Audio packets received so far over every down stream, from getStats() (inbound-rtp, kind audio). */
async function audioPacketsReceived(page: Page): Promise<{ tracks: number; packets: number }> {
  return page.evaluate(async () => {
    const conn = (window as unknown as { lectern: { conn: { down: Map<string, { pc: RTCPeerConnection; stream: MediaStream }> } } })
      .lectern.conn;
    let tracks = 0;
    let packets = 0;
    for (const s of conn.down.values()) {
      tracks += s.stream.getAudioTracks().length;
      const stats = await s.pc.getStats();
      stats.forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0;
      });
    }
    return { tracks, packets };
  });
}


/** Presses Tab until the focused element has this accessible name (button text or label), at most 30 times. */
async function tabTo(page: Page, name: string): Promise<void> {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      if (!el) return '';
      if (el instanceof HTMLInputElement) return el.labels?.[0]?.textContent ?? '';
      return el.getAttribute('aria-label') ?? el.textContent ?? '';
    });
    if (focused.trim() === name) return;
  }
  throw new Error(`could not reach "${name}" with Tab`);
}

/** Polls until `probe` gives a value `ok` accepts, within one test step by default. */
const waitUntil = <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = STEP_MS) =>
  waitUntilMs(what, probe, ok, ms);

describe("Lectern's web client: lecture view", () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];
  let presenter: PageWatch;
  const viewers: PageWatch[] = [];

  async function openPage(name: string, path = `/group/${GROUP}/`): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    const res = await w.page.goto(`${server.url}${path}`, { timeout: STEP_MS });
    expect(res?.status()).toBe(200);
    await w.page.getByLabel('Username').waitFor({ state: 'attached', timeout: STEP_MS });
    return w;
  }

  async function login(w: PageWatch, username: string, password: string): Promise<void> {
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
  }

  async function screenshots(state: string, pages: PageWatch[] = watches): Promise<void> {
    for (const w of pages) await saveScreenshot(w.page, `webclient-${state}-${w.name}`);
  }

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: {
        [GROUP]: {
          displayName: 'Physics 101',
          users: {
            teacher: { password: 'secret', permissions: 'op' },
            assistant: { password: 'secret2', permissions: 'op' },
          },
          authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
        [TOKEN_GROUP]: { authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }] },
      },
    });
    browser = await launchBrowser(['--auto-select-desktop-capture-source=Entire screen']);
  });

  afterEach((c) =>
    checkPagesAfterTest(`webclient-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts),
  );

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('serves the client page and shows a wrong password as Galène words it', async () => {
    const w = await openPage('wrong-password');
    await expect(w.page.title()).resolves.toBe('Physics 101');
    await w.page.getByLabel('Username').fill('teacher');
    await w.page.getByLabel('Password').fill('nope');
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('alert').filter({ hasText: 'not authorised' }).waitFor({ timeout: STEP_MS });
    await expect(w.page.getByRole('status').textContent()).resolves.toMatch(/Failed: not authorised/);
    await screenshots('wrong-password', [w]);
    await w.page.close();
    watches.splice(watches.indexOf(w), 1);
  });

  it('the presenter publishes camera and microphone and sees a preview', async () => {
    presenter = await openPage('presenter');
    await login(presenter, 'teacher', 'secret');
    for (const name of ['Camera', 'Microphone']) {
      const b = presenter.page.getByRole('button', { name, exact: true });
      await b.click();
      await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    }
    const up = await waitUntil(
      'the camera stream to connect with audio and video',
      () =>
        presenter.page.evaluate(() => {
          const conn = (window as unknown as { lectern: { conn: { up: Map<string, { label: string; pc: RTCPeerConnection; stream: MediaStream }> } } }).lectern.conn;
          return [...conn.up.values()].map((s) => ({
            label: s.label,
            state: s.pc.connectionState,
            kinds: s.stream.getTracks().map((t) => t.kind).sort(),
          }));
        }),
      (s) => s.length === 1 && s[0]!.state === 'connected' && s[0]!.kinds.length === 2,
    );
    expect(up[0]).toEqual({ label: 'camera', state: 'connected', kinds: ['audio', 'video'] });
    const preview = await waitUntil('the preview to play', () => probeVideo(presenter.page, 'main', 500), (p) => p.framesAfter > p.framesBefore);
    expect(preview.videoWidth).toBeGreaterThanOrEqual(640);
    await screenshots('presenter-live', [presenter]);
  });

  it('three viewers each see the video with frames advancing and receive audio', async () => {
    for (let i = 0; i < VIEWERS; i++) {
      const v = await openPage(`viewer${i + 1}`);
      await login(v, `student${i + 1}`, '');
      viewers.push(v);
    }
    // Presenter controls are for presenters only.
    for (const v of viewers) await expect(v.page.getByRole('button', { name: 'Camera', exact: true }).isVisible()).resolves.toBe(false);
    await Promise.all(
      viewers.map(async (v) => {
        await waitUntil(`${v.name}: a video of 640 pixels or more`, () => probeVideo(v.page, 'main', 0), (p) => p.videoWidth >= 640);
        const p = await probeVideo(v.page, 'main', 2_000);
        expect(p.label).toBe('camera');
        expect(p.paused).toBe(false);
        expect(p.framesAfter - p.framesBefore, `${v.name}: ${JSON.stringify(p)}`).toBeGreaterThanOrEqual(10);
        const a1 = await waitUntil(`${v.name}: audio packets`, () => audioPacketsReceived(v.page), (a) => a.tracks === 1 && a.packets > 0);
        const a2 = await waitUntil(`${v.name}: more audio packets`, () => audioPacketsReceived(v.page), (a) => a.packets > a1.packets + 20);
        expect(a2.tracks).toBe(1);
        // Autoplay is allowed in these tests, so the video plays with sound and no unmute button shows.
        await expect(v.page.evaluate(() => (document.querySelector('video[data-role="main"]') as HTMLVideoElement).muted)).resolves.toBe(false);
        await expect(v.page.getByRole('button', { name: 'Click to unmute' }).isVisible()).resolves.toBe(false);
      }),
    );
    await presenter.page.getByText('3 people watching').waitFor({ timeout: STEP_MS });
    await screenshots('viewers-watching');
  });

  it('a chat line typed by one viewer appears for everyone, and a raised hand shows in the list', async () => {
    const sender = viewers[0]!;
    await sender.page.getByLabel('Message', { exact: true }).fill('Is this on the exam?');
    await sender.page.getByRole('button', { name: 'Send' }).click();
    for (const w of [presenter, ...viewers]) {
      await w.page.getByRole('log').getByText('Is this on the exam?').waitFor({ timeout: STEP_MS });
    }
    await viewers[1]!.page.getByRole('button', { name: 'Raise hand' }).click();
    await presenter.page.getByRole('listitem').filter({ hasText: 'student2' }).getByText('hand raised').waitFor({ timeout: STEP_MS });
    await screenshots('chat');
  });

  it('the presenter shares the screen and the viewers show it as the main view, the camera as an inset', async () => {
    const b = presenter.page.getByRole('button', { name: 'Share screen' });
    await b.click();
    await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    await Promise.all(
      viewers.map(async (v) => {
        await waitUntil(`${v.name}: the screen share as the main view`, () => probeVideo(v.page, 'main', 0), (p) => p.label === 'screenshare' && p.videoWidth > 0);
        const main = await probeVideo(v.page, 'main', 2_000);
        expect(main.framesAfter, `${v.name}: ${JSON.stringify(main)}`).toBeGreaterThan(main.framesBefore);
        const side = await probeVideo(v.page, 'side', 0);
        expect(side).toMatchObject({ found: true, label: 'camera' });
      }),
    );
    await screenshots('screenshare');
    await b.click();
    await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('false');
    for (const v of viewers) {
      await waitUntil(`${v.name}: back to the camera`, () => probeVideo(v.page, 'main', 0), (p) => p.label === 'camera');
    }
  });

  it('a viewer whose WebSocket drops reconnects, rejoins and plays the video again', async () => {
    const v = viewers[2]!;
    await dropSocket(v.page);
    await v.page.getByRole('status').filter({ hasText: 'reconnecting' }).waitFor({ timeout: STEP_MS });
    await v.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    // Only "plays again": the publisher's encoder may scale down meanwhile (the new receiver's rate starts low).
    await waitUntil(`${v.name}: the video back`, () => probeVideo(v.page, 'main', 500), (p) => p.videoWidth > 0 && p.framesAfter > p.framesBefore);
    await screenshots('viewer-reconnected', [v]);
  });

  it('a presenter whose WebSocket drops reconnects and publishes again', async () => {
    await dropSocket(presenter.page);
    await presenter.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    await expect(presenter.page.getByRole('button', { name: 'Camera', exact: true }).getAttribute('aria-pressed')).resolves.toBe('true');
    for (const v of viewers) {
      await waitUntil(`${v.name}: the republished camera`, () => probeVideo(v.page, 'main', 500), (p) => p.label === 'camera' && p.videoWidth >= 640 && p.framesAfter > p.framesBefore);
    }
    await screenshots('presenter-reconnected', [presenter, viewers[0]!]);
  });

  it('joins with ?token= from the URL and strips it from the address bar', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = jwt({ sub: 'guest', aud: `${server.url}/group/${TOKEN_GROUP}/`, iat: now, exp: now + 600, permissions: ['message'] });
    const w = await openPage('token', `/group/${TOKEN_GROUP}/?token=${token}`);
    await w.page.getByRole('status').filter({ hasText: 'Joined as guest' }).waitFor({ timeout: STEP_MS });
    expect(w.page.url()).toBe(`${server.url}/group/${TOKEN_GROUP}/`);
    await screenshots('token', [w]);
  });

  it('when the browser blocks autoplay, the viewer plays muted and "Click to unmute" turns the sound on', async () => {
    // Headless Chromium ignores --autoplay-policy, so the page's play() is made to refuse sound until the user
    // has clicked or typed in the page, as a browser that blocks autoplay does. A token link joins without a click.
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    // (A string, not a function: the test transform would wrap a function with helpers the page lacks.)
    await ctx.context.addInitScript({
      // (navigator.userActivation cannot serve: Chromium driven over CDP reports the page as already activated.)
      content: `{
        let gesture = false;
        for (const type of ['pointerdown', 'keydown']) addEventListener(type, () => { gesture = true; }, true);
        const play = HTMLMediaElement.prototype.play;
        HTMLMediaElement.prototype.play = function () {
          if (!this.muted && !gesture) {
            return Promise.reject(new DOMException('play() with sound needs a user gesture', 'NotAllowedError'));
          }
          return play.call(this);
        };
      }`,
    });
    const w = new PageWatch(await ctx.context.newPage(), 'autoplay-blocked');
    watches.push(w);
    const now = Math.floor(Date.now() / 1000);
    const token = jwt({ sub: 'latecomer', aud: `${server.url}/group/${GROUP}/`, iat: now, exp: now + 600, permissions: ['message'] });
    await w.page.goto(`${server.url}/group/${GROUP}/?token=${token}`, { timeout: STEP_MS });
    const unmute = w.page.getByRole('button', { name: 'Click to unmute' });
    await unmute.waitFor({ state: 'visible', timeout: STEP_MS });
    const muted = () => w.page.evaluate(() => (document.querySelector('video[data-role="main"]') as HTMLVideoElement | null)?.muted);
    await waitUntil('the muted video to play', () => probeVideo(w.page, 'main', 300), (p) => p.framesAfter > p.framesBefore);
    expect(await muted()).toBe(true);
    await screenshots('autoplay-blocked', [w]);
    await unmute.click();
    await expect.poll(muted, { timeout: STEP_MS }).toBe(false);
    await expect(unmute.isVisible()).resolves.toBe(false);
    await expect(w.page.evaluate(() => (document.querySelector('video[data-role="main"]') as HTMLVideoElement).paused)).resolves.toBe(false);
    await w.page.close();
    watches.splice(watches.indexOf(w), 1);
  });

  it('keyboard only: log in, send a chat message and toggle the camera', async () => {
    const w = await openPage('keyboard');
    const page = w.page;
    // The page focuses the username field; everything below is keystrokes.
    await page.keyboard.type('assistant');
    await page.keyboard.press('Tab');
    await page.keyboard.type('secret2');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });

    await tabTo(page, 'Message');
    await page.keyboard.type('typed without a mouse');
    await page.keyboard.press('Enter');
    for (const other of [presenter, viewers[0]!, w]) {
      await other.page.getByRole('log').getByText('typed without a mouse').waitFor({ timeout: STEP_MS });
    }

    await tabTo(page, 'Camera');
    await page.keyboard.press('Space');
    const camera = page.getByRole('button', { name: 'Camera', exact: true });
    await expect.poll(() => camera.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    await waitUntil('the keyboard user’s preview', () => probeVideo(page, 'main', 300), (p) => p.framesAfter > p.framesBefore);
    await screenshots('keyboard-camera-on', [w]);
    await page.keyboard.press('Enter');
    await expect.poll(() => camera.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('false');
    await screenshots('keyboard-camera-off', [w]);
  });
  it('a kicked viewer sees who kicked it and why, and does not reconnect', async () => {
    const v = viewers[2]!;
    await presenter.page.evaluate((name) => {
      type Conn = { id: string; username: string; users: Map<string, { id: string; username: string }>; send(m: unknown): void };
      const conn = (window as unknown as { lectern: { conn: Conn } }).lectern.conn;
      const target = [...conn.users.values()].find((u) => u.username === name);
      if (!target) throw new Error(`no user ${name}`);
      conn.send({ type: 'useraction', kind: 'kick', source: conn.id, username: conn.username, dest: target.id, value: 'see you next week' });
    }, 'student3');
    await v.page.getByRole('alert').filter({ hasText: 'You were kicked by teacher: see you next week' }).waitFor({ timeout: STEP_MS });
    await expect(v.page.getByRole('status').textContent()).resolves.toBe('Failed: see you next week');
    await new Promise((r) => setTimeout(r, 2_500));
    await expect(v.page.getByRole('status').textContent()).resolves.toBe('Failed: see you next week');
    await presenter.page.getByRole('listitem').filter({ hasText: 'student3' }).waitFor({ state: 'detached', timeout: STEP_MS });
    await screenshots('kicked', [v]);
  });
});
