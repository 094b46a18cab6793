/**
 * The recordings page in headless Chromium: a real WebM is listed, its jobs (the real finalize chain on an
 * InProcessQueue, started after the page opened) show up live through the page's polling, hls.js plays the
 * composite replay, and the MP4 download link downloads the file. Also: the group page links to the
 * recordings page for a user with `record` only.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
      JSON.stringify({ 'allow-recording': true, users: { op: { password: 'op-pw', permissions: 'op' } } }),
    );
    await runFfmpeg(testWebmArgs(join(recordings, 'lecture', `${REC}.webm`), { seconds: 4 }));
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

  it('shows job progress live, plays the replay with hls.js and downloads the MP4', async () => {
    const w = new PageWatch(await ctx.context.newPage(), 'recordings');
    watches.push(w);
    const { page } = w;
    const res = await page.goto(`${url}/recordings/lecture/`, { timeout: STEP_MS });
    expect(res?.status()).toBe(200);
    await page.getByRole('heading', { name: 'Recordings of lecture' }).waitFor({ timeout: STEP_MS });
    const card = page.locator(`li.recording[data-recording="${REC}"]`);
    await card.getByRole('link', { name: new RegExp(`^Download ${REC}\\.webm`) }).waitFor({ timeout: STEP_MS });
    await expect(card.getByRole('button', { name: `Play the replay of ${REC}` }).count()).resolves.toBe(0);

    // The recording ends now: the page learns of the jobs by polling, without a reload.
    const id = await onRecordingFinished(queue, { camera: `lecture/${REC}.webm` });
    await index.track(id);
    await card.locator('[data-job="hls-vod"][data-state="completed"]').waitFor({ timeout: CHAIN_MS });
    await card.locator('[data-job="thumbnail"][data-state="completed"]').waitFor({ timeout: CHAIN_MS });
    for (const job of ['finalize', 'composite']) {
      await expect(card.locator(`[data-job="${job}"]`).getAttribute('data-state')).resolves.toBe('completed');
    }
    await expect(card.getByRole('progressbar', { name: 'Lecture video' }).getAttribute('value')).resolves.toBe('100');
    const thumb = card.locator('img.thumbnail');
    await thumb.waitFor({ timeout: STEP_MS });
    await page.waitForFunction((el) => (el as HTMLImageElement).complete && (el as HTMLImageElement).naturalWidth > 0, await thumb.elementHandle(), { timeout: STEP_MS });
    await saveScreenshot(page, 'webclient-recordings-list');

    // The replay, through hls.js: Media Source (a blob: URL), and the video's clock advances.
    await card.getByRole('button', { name: `Play the replay of ${REC}` }).click();
    await page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('.replay-player video');
        return !!v && v.src.startsWith('blob:') && v.currentTime > 1;
      },
      undefined,
      { timeout: STEP_MS },
    );
    await saveScreenshot(page, 'webclient-recordings-playing');

    // The MP4 download link gives the file.
    const [download] = await Promise.all([
      page.waitForEvent('download', { timeout: STEP_MS }),
      card.getByRole('link', { name: new RegExp(`^Download ${REC}\\.mp4`) }).click(),
    ]);
    // (Chromium turns the colons of the name into underscores.)
    expect(download.suggestedFilename()).toBe(`${REC}.mp4`.replace(/:/g, '_'));
    expect(await download.failure()).toBeNull();
    const got = await readFile((await download.path())!);
    const want = await readFile(join(recordings, 'lecture', `${REC}.mp4`));
    expect(got.equals(want)).toBe(true);
  }, 240_000);

  it('is in French with ?lang=fr and says when the listing cannot be read', async () => {
    const w = new PageWatch(await ctx.context.newPage(), 'recordings-fr');
    watches.push(w);
    await w.page.goto(`${url}/recordings/lecture/?lang=fr`, { timeout: STEP_MS });
    await w.page.getByRole('heading', { name: 'Enregistrements de lecture' }).waitFor({ timeout: STEP_MS });
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
