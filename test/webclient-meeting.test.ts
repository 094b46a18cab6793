/**
 * Lectern's web client, meeting view: in a group where everyone may present, three participants join, each
 * publishes camera and microphone on its own, and each sees the other two as tiles with frames advancing.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil } from './helpers/wait.js';

const GROUP = 'standup';
const STEP_MS = 30_000;
const NAMES = ['ada', 'bob', 'cyd'];

interface TileProbe {
  username: string;
  videoWidth: number;
  framesBefore: number;
  framesAfter: number;
}

/** Every remote tile's video: who, its width, and frames painted over `ms`. */
async function probeTiles(page: Page, ms: number): Promise<TileProbe[]> {
  return page.evaluate(async (ms) => {
    const videos = [...document.querySelectorAll('figure[data-role="tile"] video')] as HTMLVideoElement[];
    const before = videos.map((v) => v.getVideoPlaybackQuality().totalVideoFrames);
    await new Promise((r) => setTimeout(r, ms));
    return videos.map((v, i) => ({
      username: (v.closest('figure') as HTMLElement).dataset.username ?? '',
      videoWidth: v.videoWidth,
      framesBefore: before[i]!,
      framesAfter: v.getVideoPlaybackQuality().totalVideoFrames,
    }));
  }, ms);
}

describe("Lectern's web client: meeting view", () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: { [GROUP]: { 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'present' } } },
    });
    browser = await launchBrowser();
  });

  afterEach((c) => checkPagesAfterTest('webclient-meeting', c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('three participants all publish and each sees the other two, with a speaker highlighted and announced', async () => {
    for (const name of NAMES) {
      const ctx = await newLoopbackContext(browser, server.url);
      contexts.push(ctx);
      const w = new PageWatch(await ctx.context.newPage(), name);
      watches.push(w);
      await w.page.goto(`${server.url}/group/${GROUP}/`, { timeout: STEP_MS });
      await w.page.getByLabel('Username').fill(name);
      await w.page.getByLabel('Password').fill('anything');
      await w.page.getByRole('button', { name: 'Join' }).click();
      await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    }
    for (const w of watches) {
      const others = NAMES.filter((n) => n !== w.name).sort();
      const tiles = await waitUntil(
        `${w.name} to see ${others.join(' and ')} with frames advancing`,
        () => probeTiles(w.page, 500),
        (ts) =>
          ts.length === 2 &&
          ts.map((t) => t.username).sort().join() === others.join() &&
          ts.every((t) => t.videoWidth > 0 && t.framesAfter > t.framesBefore),
        STEP_MS,
      );
      expect(tiles).toHaveLength(2);
      // Its own camera is on and published, shown as its own tile.
      await expect(w.page.getByRole('button', { name: 'Camera', exact: true }).getAttribute('aria-pressed')).resolves.toBe('true');
      await expect(w.page.getByRole('button', { name: 'Microphone', exact: true }).getAttribute('aria-pressed')).resolves.toBe('true');
      await expect(w.page.locator('figure[data-role="local-tile"] video').count()).resolves.toBe(1);
    }
    // Chromium's fake microphone beeps: some tile on every page is highlighted as the speaker now and then, and
    // a live region says who (read in the same turn as the highlight, which one poll sets with it).
    for (const w of watches) {
      const seen = await waitUntil(
        `${w.name} to highlight a speaker and announce it`,
        () =>
          w.page.evaluate(() => {
            const lit = [...document.querySelectorAll('figure.tile[data-speaking="true"]')] as HTMLElement[];
            const region = document.querySelector('.speaker-announce');
            return {
              highlighted: lit.map((f) => f.dataset.username ?? ''),
              announced: region?.textContent ?? '',
              live: region?.getAttribute('aria-live') ?? '',
            };
          }),
        (s) => s.highlighted.length === 1,
        STEP_MS,
      );
      expect(NAMES).toContain(seen.highlighted[0]);
      expect(seen.announced).toBe(`${seen.highlighted[0]} is speaking`);
      expect(seen.live).toBe('polite');
    }
    for (const w of watches) await saveScreenshot(w.page, `webclient-meeting-${w.name}`);
  });
});
