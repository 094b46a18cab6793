/**
 * The lecture view's layout in headless Chromium, at 1280x720 and at a phone's 390x844, with the group's default
 * settings (live HLS on): a lecturer publishes camera, microphone and screen; students watch. The controls that
 * matter are inside the viewport and the page never scrolls sideways; viewers get the screen share as the large
 * view with the camera as a movable inset over it (and the screen large in HLS mode too); a raised hand and a
 * new chat message reach the lecturer as badges and an aria-live announcement; a student without the `message`
 * permission cannot type into the chat and is told why; the presenter is not offered Raise hand or Switch to
 * HLS; when the lecturer stops, the students are told that the lecture has ended.
 */
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil } from './helpers/wait.js';

const GROUP = 'physics';
const STEP_MS = 30_000;
/** The first frames of a stream can take long on a loaded machine (the first keyframe after a join). */
const MEDIA_MS = 90_000;
const DESKTOP = { width: 1280, height: 720 };
const PHONE = { width: 390, height: 844 };
const PHONE_LANDSCAPE = { width: 844, height: 390 };

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

const overlap = (a: Box, b: Box) =>
  Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x)) *
  Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));

const inside = (inner: Box, outer: Box) =>
  inner.x >= outer.x - 0.5 &&
  inner.y >= outer.y - 0.5 &&
  inner.x + inner.width <= outer.x + outer.width + 0.5 &&
  inner.y + inner.height <= outer.y + outer.height + 0.5;

async function box(l: Locator): Promise<Box> {
  const b = await l.boundingBox();
  if (!b) throw new Error(`${String(l)} has no box (not displayed)`);
  return b;
}

/**
 * Each of these is displayed wholly inside the viewport, with the page scrolled to its top and to its bottom
 * (they never scroll out of view), and the page is no taller than the viewport.
 */
async function expectInViewport(page: Page, what: string, locators: Locator[]): Promise<void> {
  const size = page.viewportSize()!;
  const viewport = { x: 0, y: 0, ...size };
  for (const to of [0, 100_000]) {
    await page.evaluate((y) => window.scrollTo(0, y), to);
    for (const l of locators) {
      const b = await box(l);
      expect(inside(b, viewport), `${what}, scrolled to ${to}: ${String(l)} at ${JSON.stringify(b)} in ${JSON.stringify(size)}`).toBe(true);
    }
  }
  const { scrollHeight, innerHeight } = await page.evaluate(() => ({ scrollHeight: document.scrollingElement!.scrollHeight, innerHeight: window.innerHeight }));
  expect(scrollHeight, `${what}: page height ${scrollHeight} > ${innerHeight}`).toBeLessThanOrEqual(innerHeight);
}

/** The page is no wider than the viewport (nothing spills sideways). */
async function expectNoSidewaysScroll(page: Page, what: string): Promise<void> {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.scrollingElement!.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${what}: page width ${scrollWidth} > ${innerWidth}`).toBeLessThanOrEqual(innerWidth);
}

/** A video element's box and, inside it, where the picture is drawn (object-fit: contain). */
async function videoBoxes(page: Page, role: 'main' | 'side'): Promise<{ label: string; box: Box; picture: Box }> {
  return page.evaluate((role) => {
    const v = document.querySelector(`video[data-role="${role}"]`) as HTMLVideoElement | null;
    if (!v) throw new Error(`no ${role} video`);
    const r = v.getBoundingClientRect();
    const scale = Math.min(r.width / v.videoWidth, r.height / v.videoHeight);
    const w = v.videoWidth * scale;
    const hgt = v.videoHeight * scale;
    return {
      label: v.dataset.label ?? '',
      box: { x: r.x, y: r.y, width: r.width, height: r.height },
      picture: { x: r.x + (r.width - w) / 2, y: r.y + (r.height - hgt) / 2, width: w, height: hgt },
    };
  }, role);
}

describe("Lectern's web client: the lecture view's layout", () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];
  let lecturer: PageWatch;
  let observer: PageWatch;
  let desk: PageWatch;
  let phone: PageWatch;

  async function join(name: string, size: { width: number; height: number }, username: string, password: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    await w.page.setViewportSize(size);
    expect((await w.page.goto(`${server.url}/group/${GROUP}/`, { timeout: STEP_MS }))?.status()).toBe(200);
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    return w;
  }

  const button = (w: PageWatch, name: string) => w.page.getByRole('button', { name, exact: true });
  const viewerControls = (w: PageWatch) => ['Raise hand', 'Full screen', 'Low bandwidth', 'Switch to HLS'].map((n) => button(w, n));
  const chatBox = (w: PageWatch) => [w.page.getByLabel('Message', { exact: true }), button(w, 'Send')];
  const lecturerControls = () => ['Camera', 'Microphone', 'Share screen'].map((n) => button(lecturer, n));

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: {
        [GROUP]: {
          displayName: 'Physics 101',
          // (As the README's example: the lecturer's Record button is among the controls that must stay in view.)
          'allow-recording': true,
          users: {
            teacher: { password: 'secret', permissions: 'op' },
            auditor: { password: 'listen', permissions: 'observe' },
          },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
      },
    });
    browser = await launchBrowser(['--auto-select-desktop-capture-source=Entire screen']);
  });

  afterEach((c) => checkPagesAfterTest(`webclient-layout-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('before the lecture a student is told that nobody presents yet; without `message` the chat is disabled with the reason', async () => {
    observer = await join('observer', DESKTOP, 'auditor', 'listen');
    await observer.page.getByText('Nobody is presenting yet.').waitFor({ timeout: STEP_MS });
    const input = observer.page.getByLabel('Message', { exact: true });
    await expect(input.isEditable()).resolves.toBe(false);
    await expect(button(observer, 'Send').isEnabled()).resolves.toBe(false);
    const reason = observer.page.getByText('You can read the chat but not write in it: this group does not give you the message permission.');
    await expect(reason.isVisible()).resolves.toBe(true);
    await expect(input.getAttribute('aria-describedby')).resolves.toBe(await reason.getAttribute('id'));
    // The reason is beside the box: inside the chat panel.
    expect(inside(await box(reason), await box(observer.page.locator('section.chat')))).toBe(true);
    await expectNoSidewaysScroll(observer.page, 'observer');
  });

  it('the lecturer publishes camera, microphone and screen; the controls stay in view at both sizes; no viewer-only controls', async () => {
    lecturer = await join('lecturer', DESKTOP, 'teacher', 'secret');
    for (const b of lecturerControls()) {
      await b.click();
      await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    }
    await waitUntil('the preview of the screen share', () => videoBoxes(lecturer.page, 'main').catch(() => undefined), (v) => v?.label === 'screenshare' && v.picture.width > 0, STEP_MS);
    for (const size of [DESKTOP, PHONE, PHONE_LANDSCAPE]) {
      await lecturer.page.setViewportSize(size);
      const what = `lecturer at ${size.width}x${size.height}`;
      // The preview is compact: Record and the chat box are in view with the controls.
      await expectInViewport(lecturer.page, what, [...lecturerControls(), button(lecturer, 'Record'), ...chatBox(lecturer)]);
      await expectNoSidewaysScroll(lecturer.page, what);
      // (In the page, hidden: the same page shows it to those who may not present.)
      await expect(lecturer.page.getByRole('button', { name: 'Raise hand', exact: true, includeHidden: true }).count()).resolves.toBe(1);
      await expect(button(lecturer, 'Raise hand').isVisible()).resolves.toBe(false);
      await expect(button(lecturer, 'Switch to HLS').isVisible()).resolves.toBe(false);
      await saveScreenshot(lecturer.page, `webclient-layout-lecturer-${size.width}x${size.height}`);
    }
    await lecturer.page.setViewportSize(DESKTOP);
  }, 120_000);

  it('students see the screen share large with the camera as an inset over it, and their controls in view', async () => {
    desk = await join('student-desktop', DESKTOP, 'student1', '');
    phone = await join('student-phone', PHONE, 'student2', '');
    for (const [w, size, share] of [
      [desk, DESKTOP, 0.6],
      [phone, PHONE, 0.9],
      [observer, DESKTOP, 0.6],
    ] as const) {
      const what = `${w.name} at ${size.width}x${size.height}`;
      const main = await waitUntil(`${what}: the screen share as the main view`, () => videoBoxes(w.page, 'main').catch(() => undefined), (v) => v?.label === 'screenshare' && v.picture.width > 0, MEDIA_MS);
      const side = await waitUntil(`${what}: the camera inset`, () => videoBoxes(w.page, 'side').catch(() => undefined), (v) => v?.label === 'camera' && v.picture.width > 0, MEDIA_MS);
      // As large as the viewport allows: most of its width, and the whole video inside the viewport.
      expect(main!.box.width, `${what}: ${JSON.stringify(main)}`).toBeGreaterThanOrEqual(size.width * share);
      expect(inside(main!.picture, { x: 0, y: 0, ...size }), `${what}: ${JSON.stringify(main)}`).toBe(true);
      // The camera is an inset: small, inside the screen share's view and over its picture.
      expect(side!.box.width * side!.box.height).toBeLessThan((main!.box.width * main!.box.height) / 4);
      expect(inside(side!.box, await box(w.page.locator('.stage-view'))), `${what}: ${JSON.stringify({ main, side })}`).toBe(true);
      expect(overlap(side!.box, main!.picture), `${what}: ${JSON.stringify({ main, side })}`).toBeGreaterThan(0);
      // The viewer's controls sit under the picture, not over it, and are in view, and so is the chat box.
      await expectInViewport(w.page, what, [...viewerControls(w), ...chatBox(w)]);
      for (const b of viewerControls(w)) expect(overlap(await box(b), main!.picture), `${what}: ${String(b)} covers the slide`).toBe(0);
      await expectNoSidewaysScroll(w.page, what);
      // Nothing of the presenter's: no Camera, Microphone, Share screen nor Record.
      for (const n of ['Camera', 'Microphone', 'Share screen', 'Record']) await expect(button(w, n).isVisible(), `${what}: ${n}`).resolves.toBe(false);
      await saveScreenshot(w.page, `webclient-layout-${w.name}-${size.width}x${size.height}`);
    }
    // Turned sideways, the phone keeps the stage, the controls and the chat box in view.
    await phone.page.setViewportSize(PHONE_LANDSCAPE);
    await expectInViewport(phone.page, 'student-phone at 844x390', [...viewerControls(phone), ...chatBox(phone)]);
    await expectNoSidewaysScroll(phone.page, 'student-phone at 844x390');
    await saveScreenshot(phone.page, 'webclient-layout-student-phone-844x390');
    await phone.page.setViewportSize(PHONE);
    // Send stays inside the chat panel.
    for (const w of [desk, phone]) expect(inside(await box(button(w, 'Send')), await box(w.page.locator('section.chat')))).toBe(true);
  }, 360_000);

  it('a student drags the camera inset elsewhere; it stays inside the view', async () => {
    const page = desk.page;
    const inset = page.locator('.side-video');
    const view = await box(page.locator('.stage-view'));
    const before = await box(inset);
    await page.mouse.move(before.x + before.width / 2, before.y + before.height / 2);
    await page.mouse.down();
    await page.mouse.move(view.x + 40, view.y + 40, { steps: 5 });
    await page.mouse.move(view.x - 200, view.y - 200, { steps: 5 }); // past the corner: held inside
    await page.mouse.up();
    const after = await box(inset);
    expect(after.x, JSON.stringify({ before, after, view })).toBeLessThan(before.x);
    expect(after.y, JSON.stringify({ before, after, view })).toBeLessThan(before.y);
    expect(inside(after, view), JSON.stringify({ after, view })).toBe(true);
    // And with the keyboard.
    await inset.focus();
    await page.keyboard.press('ArrowRight');
    const moved = await box(inset);
    expect(moved.x).toBeGreaterThan(after.x);
    expect(moved.y).toBeCloseTo(after.y, 0);
    await saveScreenshot(page, 'webclient-layout-inset-moved');
  });

  it('a new chat message and a raised hand reach the lecturer as badges and an aria-live announcement', async () => {
    const announcer = lecturer.page.locator('.announcer');
    await expect(announcer.getAttribute('aria-live')).resolves.toBe('polite');
    await desk.page.getByLabel('Message', { exact: true }).fill('Could you repeat the last slide?');
    await button(desk, 'Send').click();
    await lecturer.page.getByRole('log').getByText('Could you repeat the last slide?').waitFor({ timeout: STEP_MS });
    const chatBadge = button(lecturer, '1 new chat message');
    await chatBadge.waitFor({ timeout: STEP_MS });
    await expect(announcer.textContent()).resolves.toBe('New chat message from student1');

    await button(phone, 'Raise hand').click();
    const handBadge = button(lecturer, '1 hand raised');
    await handBadge.waitFor({ timeout: STEP_MS });
    await expect(announcer.textContent()).resolves.toBe('student2 raised a hand');
    for (const size of [DESKTOP, PHONE, PHONE_LANDSCAPE]) {
      await lecturer.page.setViewportSize(size);
      await expectInViewport(lecturer.page, `lecturer's badges at ${size.width}x${size.height}`, [chatBadge, handBadge]);
      await saveScreenshot(lecturer.page, `webclient-layout-lecturer-alerts-${size.width}x${size.height}`);
    }
    await lecturer.page.setViewportSize(DESKTOP);
    // The badge takes the lecturer to the chat, which clears it.
    await chatBadge.click();
    await expect.poll(() => chatBadge.isVisible(), { timeout: STEP_MS }).toBe(false);
    // A lowered hand leaves the count.
    await button(phone, 'Lower hand').click();
    await expect.poll(() => handBadge.isVisible(), { timeout: STEP_MS }).toBe(false);
  });

  it('in HLS mode the stream takes the large view and the HLS state does not squeeze the controls', async () => {
    const page = desk.page;
    const webrtc = await videoBoxes(page, 'main');
    await button(desk, 'Switch to HLS').click();
    const hlsVideo = page.locator('video.hls-video');
    await hlsVideo.waitFor({ timeout: STEP_MS });
    const indicator = page.locator('.hls-indicator');
    await expect.poll(() => indicator.textContent(), { timeout: STEP_MS }).toMatch(/^HLS mode/);
    const hls = await box(hlsVideo);
    expect(hls.width, JSON.stringify({ hls, webrtc })).toBeGreaterThanOrEqual(webrtc.box.width - 1);
    expect(hls.height, JSON.stringify({ hls, webrtc })).toBeGreaterThanOrEqual(webrtc.box.height - 1);
    const ind = await box(indicator);
    // One line of text, not a narrow column, and over no button.
    const lineHeight = await indicator.evaluate((el) => parseFloat(getComputedStyle(el).lineHeight));
    expect(ind.height, JSON.stringify(ind)).toBeLessThan(lineHeight * 1.5);
    for (const b of [button(desk, 'Raise hand'), button(desk, 'Switch to WebRTC'), button(desk, 'Full screen'), button(desk, 'Low bandwidth')]) {
      expect(overlap(await box(b), ind), String(b)).toBe(0);
    }
    await expectInViewport(page, 'HLS mode', [indicator, button(desk, 'Switch to WebRTC'), button(desk, 'Raise hand')]);
    await expectNoSidewaysScroll(page, 'HLS mode');
    await saveScreenshot(page, 'webclient-layout-student-desktop-hls');
    await button(desk, 'Switch to WebRTC').click();
    await expect.poll(() => hlsVideo.count(), { timeout: STEP_MS }).toBe(0);
  });

  it('when the lecturer stops publishing, the students are told that the lecture has ended', async () => {
    for (const b of lecturerControls()) {
      await b.click();
      await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('false');
    }
    for (const w of [desk, phone, observer]) {
      await w.page.getByText('The lecture has ended.').waitFor({ timeout: STEP_MS });
      await expect(w.page.getByText('Nobody is presenting yet.').count()).resolves.toBe(0);
      await expect(w.page.locator('video[data-role="main"]').count()).resolves.toBe(0);
      await expectNoSidewaysScroll(w.page, `${w.name}: ended`);
    }
    await saveScreenshot(desk.page, 'webclient-layout-ended-1280x720');
    await saveScreenshot(phone.page, 'webclient-layout-ended-390x844');
  });
});
