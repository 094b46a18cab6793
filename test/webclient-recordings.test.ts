/**
 * The recordings page in headless Chromium: a lecture's real camera and screen WebMs are one entry titled
 * with the group's displayName, its jobs (the real finalize chain on an InProcessQueue, started after the page
 * opened) show up live through the page's polling, hls.js plays the composite replay, the "Lecture video
 * (MP4)" link downloads the file under a readable name, and deleting the lecture takes a confirmation.
 * Also: the group page links to the recordings page for a user with `record` only.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GroupStore } from '../src/config/GroupStore.js';
import { runFfmpeg } from '../src/egress/ffmpeg/index.js';
import { onRecordingFinished } from '../src/egress/jobs/index.js';
import { JobIndex } from '../src/egress/jobs/jobIndex.js';
import { InProcessQueue } from '../src/egress/queue/index.js';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { startRecordingsApp, type RecordingsApp } from './helpers/recordingsApp.js';
import { testWebmArgs } from './helpers/testWebm.js';

const STEP_MS = 30_000;
const CHAIN_MS = 150_000;
const REC = '2024-05-06T10:11:12.345-op';
/** The same lecture's screen share, started 0.6 s after the camera. */
const SCREEN = '2024-05-06T10:11:12.950-op';

describe('the recordings page', () => {
  let base = '';
  let recordings = '';
  let app: RecordingsApp | undefined;
  let url = '';
  let queue: InProcessQueue;
  let index: JobIndex;
  let store: GroupStore;
  let browser: Browser;
  let ctx: LoopbackContext;
  const watches: PageWatch[] = [];

  beforeAll(async () => {
    await buildClient();
    base = await mkdtemp(join(tmpdir(), 'lectern-recpage-'));
    recordings = join(base, 'recordings');
    const groups = join(base, 'groups');
    await Promise.all([mkdir(join(recordings, 'lecture'), { recursive: true }), mkdir(groups)]);
    await writeFile(
      join(groups, 'lecture.json'),
      JSON.stringify({ displayName: 'Physics 101', 'allow-recording': true, users: { op: { password: 'op-pw', permissions: 'op' }, student: { password: 's-pw', permissions: 'present' } } }),
    );
    await runFfmpeg(testWebmArgs(join(recordings, 'lecture', `${REC}.webm`), { seconds: 4 }));
    await runFfmpeg(testWebmArgs(join(recordings, 'lecture', `${SCREEN}.webm`), { seconds: 3, audio: false, pattern: 'smptebars', size: '640x360' }));
    app = await startRecordingsApp(groups, recordings);
    ({ url, queue, index, store } = app);
    browser = await launchBrowser();
    ctx = await newLoopbackContext(browser);
    await ctx.context.setHTTPCredentials({ username: 'op', password: 'op-pw' });
  }, 120_000);

  afterEach((c) => checkPagesAfterTest('webclient-recordings', c.task.result?.state === 'fail', watches, [ctx]));

  afterAll(async () => {
    await ctx?.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await app?.close();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('one entry per lecture: job progress live, the replay with hls.js, named downloads, delete after a confirmation', async () => {
    const w = new PageWatch(await ctx.context.newPage(), 'recordings');
    watches.push(w);
    const { page } = w;
    const res = await page.goto(`${url}/recordings/lecture/`, { timeout: STEP_MS });
    expect(res?.status()).toBe(200);
    await page.getByRole('heading', { name: 'Recordings of Physics 101' }).waitFor({ timeout: STEP_MS });
    const card = page.locator('li.recording');
    // Before any job: the camera and screen files of the presenter are already one entry.
    await card.getByRole('link', { name: 'Recording (WebM)' }).first().waitFor({ timeout: STEP_MS });
    await expect(card.count()).resolves.toBe(1);
    await expect(card.getByRole('link').count()).resolves.toBe(2);
    await expect(card.getByRole('button', { name: /^Play the replay/ }).count()).resolves.toBe(0);

    // The recording ends now: the page learns of the jobs by polling, without a reload.
    const id = await onRecordingFinished(queue, { camera: `lecture/${REC}.webm`, screen: `lecture/${SCREEN}.webm` });
    await index.track(id);
    await card.locator('[data-job="hls-vod"][data-state="completed"]').waitFor({ timeout: CHAIN_MS });
    await card.locator('[data-job="thumbnail"][data-state="completed"]').waitFor({ timeout: CHAIN_MS });
    for (const job of ['finalize', 'composite']) {
      await expect(card.locator(`[data-job="${job}"]`).getAttribute('data-state')).resolves.toBe('completed');
    }
    await expect(card.getByRole('progressbar', { name: 'Lecture video' }).getAttribute('value')).resolves.toBe('100');
    await expect(card.count()).resolves.toBe(1);
    expect(await card.getAttribute('data-recording')).toBe(REC);
    // Titled with the displayName and the start in the browser's own locale and zone (en-US here), not the file name.
    const title = (await card.locator('h3').textContent()) ?? '';
    expect(title).toMatch(/^Physics 101 — May 6, 2024(,| at) 10:11/);
    expect(title).not.toContain(REC);
    await card.getByText('Presented by op').waitFor({ timeout: STEP_MS });
    const links = await card.locator('.downloads a').allTextContents();
    expect(links).toEqual(['Lecture video (MP4)', 'Camera (WebM)', 'Screen (WebM)']);
    const thumb = card.locator('img.thumbnail');
    await thumb.waitFor({ timeout: STEP_MS });
    await page.waitForFunction((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0, await thumb.elementHandle(), { timeout: STEP_MS });
    await saveScreenshot(page, 'webclient-recordings-list');

    // The replay, through hls.js: Media Source (a blob: URL), and the video's clock advances.
    await card.getByRole('button', { name: /^Play the replay of Physics 101/ }).click();
    await page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('.replay-player video');
        return !!v && v.src.startsWith('blob:') && v.currentTime > 1;
      },
      undefined,
      { timeout: STEP_MS },
    );
    await saveScreenshot(page, 'webclient-recordings-playing');

    // The MP4 download link gives the file, named after the group and the lecture's time.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: STEP_MS }),
      card.getByRole('link', { name: 'Lecture video (MP4)' }).click(),
    ]);
    expect(download.suggestedFilename()).toBe('Physics 101 – 2024-05-06 10-11.mp4');
    expect(await download.failure()).toBeNull();
    const got = await readFile((await download.path())!);
    const want = await readFile(join(recordings, 'lecture', `${REC}.mp4`));
    expect(got.equals(want)).toBe(true);

    // Delete: the button is below the downloads and only opens a confirmation; Cancel keeps everything.
    const before = (await readdir(join(recordings, 'lecture'))).sort();
    const del = card.getByRole('button', { name: 'Delete this lecture…' });
    const box = (await card.locator('.downloads').boundingBox())!;
    expect((await del.boundingBox())!.y).toBeGreaterThan(box.y + box.height);
    const sure = card.getByRole('button', { name: 'Delete for good' });
    await expect(sure.isVisible()).resolves.toBe(false);
    await del.click();
    await sure.waitFor({ timeout: STEP_MS });
    await expect(del.isVisible()).resolves.toBe(false);
    await saveScreenshot(page, 'webclient-recordings-confirm-delete');
    await card.getByText('Delete “Physics 101 — ').waitFor({ timeout: STEP_MS });
    await card.getByRole('button', { name: 'Cancel' }).click();
    await del.waitFor({ timeout: STEP_MS });
    await expect(sure.isVisible()).resolves.toBe(false);
    // A poll goes by after Cancel: nothing was deleted.
    await page.waitForResponse((r) => new URL(r.url()).pathname === '/recordings/lecture/' && r.request().method() === 'GET', { timeout: STEP_MS });
    expect((await readdir(join(recordings, 'lecture'))).sort()).toEqual(before);
    await del.click();
    await sure.click();
    await page.getByText('No recordings yet.').waitFor({ timeout: STEP_MS });
    await expect(card.count()).resolves.toBe(0);
    expect((await readdir(join(recordings, 'lecture'))).filter((n) => !n.startsWith('.'))).toEqual([]);
    await expect(stat(join(recordings, 'lecture', `${REC}.hls`))).rejects.toThrow(/ENOENT/);
  }, 240_000);

  it('refuses a user without record and says what is missing', async () => {
    const other = await newLoopbackContext(browser);
    try {
      await other.context.setHTTPCredentials({ username: 'student', password: 's-pw' });
      const page = await other.context.newPage();
      const res = await page.goto(`${url}/recordings/lecture/`, { timeout: STEP_MS });
      expect(res?.status()).toBe(403);
      await page.getByText('needs the record permission, or "members-see-recordings": true in the group file').waitFor({ timeout: STEP_MS });
    } finally {
      await other.context.close();
    }
  });

  it('is in French with ?lang=fr and says when the listing cannot be read', async () => {
    const w = new PageWatch(await ctx.context.newPage(), 'recordings-fr');
    watches.push(w);
    await w.page.goto(`${url}/recordings/lecture/?lang=fr`, { timeout: STEP_MS });
    await w.page.getByRole('heading', { name: 'Enregistrements de Physics 101' }).waitFor({ timeout: STEP_MS });
    await w.page.getByRole('link', { name: 'Retour au groupe' }).waitFor({ timeout: STEP_MS });
    // The group goes away while the page is open: the next poll says so.
    const file = join(base, 'groups', 'lecture.json');
    const saved = await readFile(file);
    await rm(file);
    store.load();
    await w.page.getByText('Impossible de charger les enregistrements : 404 no such group').waitFor({ timeout: STEP_MS });
    await writeFile(file, saved);
    store.load();
  });
});

describe('the group page', () => {
  let server: TestServer;
  let browser: Browser;
  let ctx: LoopbackContext;
  const watches: PageWatch[] = [];

  beforeAll(async () => {
    server = await startTestServer({
      groups: {
        lecture: {
          'allow-recording': true,
          users: { op: { password: 'op-pw', permissions: 'op' }, student: { password: 's', permissions: 'present' } },
        },
      },
    });
    browser = await launchBrowser();
    ctx = await newLoopbackContext(browser, server.url);
  }, 60_000);

  afterEach((c) => checkPagesAfterTest('webclient-recordings-link', c.task.result?.state === 'fail', watches, [ctx]));

  afterAll(async () => {
    await ctx?.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it.each([
    ['op', 'op-pw', true],
    ['student', 's', false],
  ])('links to the recordings for %s: %s', async (username, password, shown) => {
    const w = new PageWatch(await ctx.context.newPage(), `group-${username}`);
    watches.push(w);
    await w.page.goto(`${server.url}/group/lecture/`, { timeout: STEP_MS });
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    const link = w.page.getByRole('link', { name: 'Recordings' });
    if (shown) {
      await link.waitFor({ timeout: STEP_MS });
      await expect(link.getAttribute('href')).resolves.toBe('/recordings/lecture/');
    } else {
      await expect(link.count()).resolves.toBe(0);
    }
    await w.page.close();
  });
});
