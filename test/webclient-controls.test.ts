/**
 * Lectern's web client, the presenter's and viewer's controls: the device selects list Chromium's fake devices
 * and switching the microphone replaces the published stream; the send quality caps the video sender's
 * maxBitrate (read back in the page) while the viewer keeps playing; the viewer's "Low bandwidth" toggle re-sends
 * `request` with `video-low` (seen on the WebSocket) and the video keeps playing; "Full screen" shows the stage
 * full screen.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil } from './helpers/wait.js';

const GROUP = 'talk';
const STEP_MS = 30_000;

type Lectern = {
  conn: {
    up: Map<string, { id: string; label: string; pc: RTCPeerConnection; stream: MediaStream }>;
    down: Map<string, { pc: RTCPeerConnection; stream: MediaStream }>;
  };
};

/** The presenter's camera stream as published: its id, its tracks' devices and its video senders' caps. */
async function published(page: Page) {
  return page.evaluate(() => {
    const conn = (window as unknown as { lectern: Lectern }).lectern.conn;
    return [...conn.up.values()]
      .filter((s) => s.label === 'camera')
      .map((s) => ({
        id: s.id,
        state: s.pc.connectionState,
        audioDevice: s.stream.getAudioTracks()[0]?.getSettings().deviceId ?? '',
        maxBitrates: s.pc
          .getSenders()
          .filter((x) => x.track?.kind === 'video')
          .flatMap((x) => x.getParameters().encodings.map((e) => e.maxBitrate ?? null)),
      }));
  });
}

/** Frames the viewer's main video painted over `ms`, and its size. */
async function mainFrames(page: Page, ms: number): Promise<{ width: number; before: number; after: number }> {
  return page.evaluate(async (ms) => {
    const v = document.querySelector('video[data-role="main"]') as HTMLVideoElement | null;
    if (!v) return { width: 0, before: 0, after: 0 };
    const before = v.getVideoPlaybackQuality().totalVideoFrames;
    await new Promise((r) => setTimeout(r, ms));
    return { width: v.videoWidth, before, after: v.getVideoPlaybackQuality().totalVideoFrames };
  }, ms);
}

const playing = (page: Page, what: string) =>
  waitUntil(what, () => mainFrames(page, 700), (f) => f.width > 0 && f.after > f.before, STEP_MS);

/** Audio packets received over every down stream. */
async function audioPackets(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const conn = (window as unknown as { lectern: Lectern }).lectern.conn;
    let packets = 0;
    for (const s of conn.down.values()) {
      (await s.pc.getStats()).forEach((r: { type: string; kind?: string; packetsReceived?: number }) => {
        if (r.type === 'inbound-rtp' && r.kind === 'audio') packets += r.packetsReceived ?? 0;
      });
    }
    return packets;
  });
}

describe("Lectern's web client: presenter and viewer controls", () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];
  let presenter: PageWatch;
  let viewer: PageWatch;
  /** The `request` messages the viewer's page sent, in order. */
  const requests: unknown[] = [];

  async function openPage(name: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    return w;
  }

  async function login(w: PageWatch, username: string, password: string): Promise<void> {
    await w.page.goto(`${server.url}/group/${GROUP}/`, { timeout: STEP_MS });
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
  }

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: {
        [GROUP]: {
          users: { teacher: { password: 'secret', permissions: 'op' } },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
      },
    });
    browser = await launchBrowser();
  });

  afterEach((c) => checkPagesAfterTest(`webclient-controls-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it("the device selects list Chromium's fake devices, and another microphone replaces the published one", async () => {
    presenter = await openPage('presenter');
    await login(presenter, 'teacher', 'secret');
    for (const name of ['Camera', 'Microphone']) {
      const b = presenter.page.getByRole('button', { name, exact: true });
      await b.click();
      await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    }
    viewer = await openPage('viewer');
    viewer.page.on('websocket', (ws) =>
      ws.on('framesent', (f) => {
        const m = JSON.parse(String(f.payload)) as { type?: string; request?: unknown };
        if (m.type === 'request') requests.push(m.request);
      }),
    );
    await login(viewer, 'student', '');
    await playing(viewer.page, 'the viewer to play the camera');

    // With the permission granted, the lists carry the browser's own labels for its fake devices.
    const devices = await presenter.page.evaluate(async () =>
      (await navigator.mediaDevices.enumerateDevices()).map((d) => ({ kind: d.kind, id: d.deviceId, label: d.label })),
    );
    const options = async (label: string) =>
      presenter.page.getByLabel(label).locator('option').evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? '' })));
    const cams = devices.filter((d) => d.kind === 'videoinput' && d.id !== 'default');
    const mics = devices.filter((d) => d.kind === 'audioinput' && d.id !== 'default');
    expect(cams.length).toBeGreaterThan(0);
    expect(mics.length).toBeGreaterThan(1);
    for (const d of [...cams, ...mics]) expect(d.label).not.toBe('');
    await expect.poll(() => options('Camera device'), { timeout: STEP_MS }).toEqual([
      { value: '', text: 'Default' },
      ...cams.map((d) => ({ value: d.id, text: d.label })),
    ]);
    await expect.poll(() => options('Microphone device'), { timeout: STEP_MS }).toEqual([
      { value: '', text: 'Default' },
      ...mics.map((d) => ({ value: d.id, text: d.label })),
    ]);

    // Choosing a microphone other than the current one publishes a new camera stream in place of the old.
    const before = await waitUntil('the camera stream', () => published(presenter.page), (s) => s.length === 1 && s[0]!.state === 'connected', STEP_MS);
    const other = mics.find((d) => d.id !== before[0]!.audioDevice)!;
    await presenter.page.getByLabel('Microphone device').selectOption(other.id);
    const after = await waitUntil(
      'the stream from the other microphone',
      () => published(presenter.page),
      (s) => s.length === 1 && s[0]!.id !== before[0]!.id && s[0]!.audioDevice === other.id && s[0]!.state === 'connected',
      STEP_MS,
    );
    expect(after[0]!.audioDevice).toBe(other.id);
    await playing(viewer.page, 'the viewer to play the replacing stream');
    const a1 = await audioPackets(viewer.page);
    await waitUntil('audio from the new microphone', () => audioPackets(viewer.page), (n) => n > a1 + 20, STEP_MS);
    await saveScreenshot(presenter.page, 'webclient-controls-devices');
  });

  it("the send quality caps the video sender's maxBitrate and the viewer keeps playing", async () => {
    const quality = presenter.page.getByLabel('Send quality');
    await expect(quality.inputValue()).resolves.toBe('unlimited');
    await quality.selectOption('lowest');
    await expect.poll(async () => (await published(presenter.page))[0]?.maxBitrates, { timeout: STEP_MS }).toEqual([150_000]);
    await playing(viewer.page, 'the viewer to play at the lowest quality');
    await quality.selectOption('normal');
    await expect.poll(async () => (await published(presenter.page))[0]?.maxBitrates, { timeout: STEP_MS }).toEqual([700_000]);
    // The cap holds for a stream published later, too (the camera turned off and on).
    const camera = presenter.page.getByRole('button', { name: 'Camera', exact: true });
    await camera.click();
    await expect.poll(() => camera.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('false');
    await camera.click();
    await expect.poll(() => camera.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    await expect.poll(async () => (await published(presenter.page))[0]?.maxBitrates, { timeout: STEP_MS }).toEqual([700_000]);
    await quality.selectOption('unlimited');
    await expect.poll(async () => (await published(presenter.page))[0]?.maxBitrates, { timeout: STEP_MS }).toEqual([null]);
    await playing(viewer.page, 'the viewer to play after the quality changes');
    await saveScreenshot(viewer.page, 'webclient-controls-quality-viewer');
  });

  it('"Low bandwidth" asks for video-low and the video keeps playing; "Full screen" fills the screen with the stage', async () => {
    expect(requests).toEqual([{ '': ['audio', 'video'] }]);
    const low = viewer.page.getByRole('button', { name: 'Low bandwidth' });
    await low.click();
    await expect.poll(() => low.getAttribute('aria-pressed')).toBe('true');
    await expect.poll(() => requests.length, { timeout: STEP_MS }).toBe(2);
    expect(requests[1]).toEqual({ '': ['audio', 'video-low'] });
    await playing(viewer.page, 'the viewer to play in low bandwidth');
    await saveScreenshot(viewer.page, 'webclient-controls-low-bandwidth');
    await low.click();
    await expect.poll(() => requests.length, { timeout: STEP_MS }).toBe(3);
    expect(requests[2]).toEqual({ '': ['audio', 'video'] });
    await expect(low.getAttribute('aria-pressed')).resolves.toBe('false');

    await viewer.page.getByRole('button', { name: 'Full screen', exact: true }).click();
    await expect
      .poll(() => viewer.page.evaluate(() => document.fullscreenElement?.getAttribute('aria-label') ?? null), { timeout: STEP_MS })
      .toBe('Lecture');
    await playing(viewer.page, 'the viewer to play full screen');
    await saveScreenshot(viewer.page, 'webclient-controls-full-screen');
    await viewer.page.getByRole('button', { name: 'Exit full screen', exact: true }).click();
    await expect.poll(() => viewer.page.evaluate(() => document.fullscreenElement === null), { timeout: STEP_MS }).toBe(true);
    await viewer.page.getByRole('button', { name: 'Full screen', exact: true }).waitFor({ timeout: STEP_MS });
  });
});
