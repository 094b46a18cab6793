/**
 * The lecture view's connection states, and SIGTERM, with the server as its own process (default settings):
 * before anyone presents a student reads "Nobody is presenting yet."; on SIGTERM every client is told in words
 * (a privileged `usermessage` of kind warning), then its WebSocket closes with 1001 and a reason, and the process
 * exits 0; the page says the server is shutting down and shows "Reconnecting…" (never "Nobody is presenting
 * yet." nor "The lecture has ended."); once the server is back on the same address, the page rejoins and the
 * lecturer's camera plays again; when the lecturer stops, the student reads "The lecture has ended.".
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startServerProcess, type ServerProcess } from './helpers/serverProcess.js';
import { WsClient } from './helpers/wsClient.js';

const GROUP = 'physics';
const STEP_MS = 30_000;
/** The first frames after a (re)join can take long on a loaded machine. */
const MEDIA_MS = 90_000;
const GROUP_FILE = {
  displayName: 'Physics 101',
  users: { teacher: { password: 'secret', permissions: 'op' } },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
};

describe("Lectern's web client: connection states and the server's SIGTERM", () => {
  let server: ServerProcess;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];
  let lecturer: PageWatch;
  let student: PageWatch;

  async function join(name: string, username: string, password: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    await w.page.setViewportSize({ width: 1280, height: 720 });
    expect((await w.page.goto(`${server.url}/group/${GROUP}/`, { timeout: STEP_MS }))?.status()).toBe(200);
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    return w;
  }
  const stageText = (w: PageWatch) => w.page.locator('.stage .empty');
  const playing = (w: PageWatch) =>
    w.page.waitForFunction(() => {
      const v = document.querySelector('video[data-role="main"]') as HTMLVideoElement | null;
      return !!v && v.videoWidth > 0 && !v.paused;
    }, undefined, { timeout: MEDIA_MS });

  beforeAll(async () => {
    await buildClient();
    server = await startServerProcess({ groups: { [GROUP]: GROUP_FILE } });
    browser = await launchBrowser();
  }, 60_000);

  afterEach((c) => checkPagesAfterTest(`webclient-shutdown-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('before anyone presents, a student reads that nobody presents yet; then the camera plays', async () => {
    student = await join('student', 'student1', '');
    await expect(stageText(student).textContent()).resolves.toBe('Nobody is presenting yet.');
    lecturer = await join('lecturer', 'teacher', 'secret');
    const camera = lecturer.page.getByRole('button', { name: 'Camera', exact: true });
    await camera.click();
    await expect.poll(() => camera.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    await playing(student);
  }, 150_000);

  it('SIGTERM: each client is told, its socket closes with 1001, the process exits 0; the page shows a reconnect, then rejoins', async () => {
    const { c: raw } = await WsClient.join(server.wsUrl, GROUP, 'raw-student');
    const closed = new Promise<void>((r) => raw.ws.once('close', () => r()));
    const port = server.port;
    const code = await server.terminate();
    await closed;
    expect(code).toBe(0);
    const told = raw.received.filter((m) => m.type === 'usermessage');
    expect(told, JSON.stringify(told)).toEqual([expect.objectContaining({ kind: 'warning', privileged: true, value: 'The server is shutting down' })]);
    expect(raw.closeCode).toBe(1001);
    expect(raw.closeReason).toBe('server shutting down');

    for (const w of [student, lecturer]) {
      await w.page.getByText('The server is shutting down; this page will reconnect when it is back.').waitFor({ timeout: STEP_MS });
      await w.page.getByRole('status').filter({ hasText: 'reconnecting' }).waitFor({ timeout: STEP_MS });
    }
    await expect.poll(() => stageText(student).textContent(), { timeout: STEP_MS }).toBe('Reconnecting…');
    await expect(student.page.getByText('Nobody is presenting yet.').count()).resolves.toBe(0);
    await expect(student.page.getByText('The lecture has ended.').count()).resolves.toBe(0);
    await saveScreenshot(student.page, 'webclient-shutdown-reconnecting');

    // Back on the same address: both pages rejoin, the lecturer republishes, the student sees the camera again.
    await server.stop();
    server = await startServerProcess({ groups: { [GROUP]: GROUP_FILE }, port });
    for (const w of [student, lecturer]) await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: MEDIA_MS });
    await playing(student);
  }, 240_000);

  it('when the lecturer stops, the student reads that the lecture has ended', async () => {
    const camera = lecturer.page.getByRole('button', { name: 'Camera', exact: true });
    await camera.click();
    await expect.poll(() => camera.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('false');
    await expect.poll(() => stageText(student).textContent(), { timeout: STEP_MS }).toBe('The lecture has ended.');
    await saveScreenshot(student.page, 'webclient-shutdown-ended');
  });
});
