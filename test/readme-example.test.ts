/**
 * The README's example group, as written, for a whole lecture with default settings (live HLS on): the server
 * runs as `npm start -- --insecure ...` runs it (its own process); in headless Chromium the teacher presents
 * camera, microphone and screen, three students watch, one chats and one raises a hand; nobody is told
 * "Recording" before Record; Record makes a WebM and every page shows the indicator; Stop clears it; the
 * lecture's composite appears, and a student (read-only, through `members-see-recordings`) plays its replay
 * and downloads the MP4 from the recordings page.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startServerProcess, type ServerProcess } from './helpers/serverProcess.js';
import { sleep, waitFor } from './helpers/wait.js';

const STEP_MS = 30_000;
const CHAIN_MS = 150_000;

/** The README's group file: the JSON block after "A group is a file such as `groups/physics.json`:". */
function readmeGroup(): { name: string; text: string } {
  const readme = fs.readFileSync(path.join(import.meta.dirname, '..', 'README.md'), 'utf8');
  const m = /A group is a file such as `groups\/([\w-]+)\.json`:\s*```json\n([\s\S]*?)```/.exec(readme);
  if (!m) throw new Error('the README has no example group file');
  return { name: m[1]!, text: m[2]! };
}

describe("the README's example group, as written", () => {
  const example = readmeGroup();
  const desc = JSON.parse(example.text) as { users: Record<string, { password: string }> };
  const [teacherName, teacher] = Object.entries(desc.users)[0]!;
  let server: ServerProcess;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];

  async function join(name: string, username: string, password: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    expect((await w.page.goto(`${server.url}/group/${example.name}/`, { timeout: STEP_MS }))?.status()).toBe(200);
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    return w;
  }

  const indicatorText = (w: PageWatch) => w.page.locator('.recording-indicator').textContent();

  beforeAll(async () => {
    await buildClient(); // what `npm start` does first (prestart)
    server = await startServerProcess({ groups: { [example.name]: example.text } });
    browser = await launchBrowser(['--auto-select-desktop-capture-source=Entire screen']);
  }, 60_000);

  afterEach((c) => checkPagesAfterTest(`readme-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('a lecture: present, watch, chat, raise a hand, record, and a student replays and downloads it', async () => {
    const lecturer = await join('lecturer', teacherName, teacher.password);
    for (const name of ['Camera', 'Microphone', 'Share screen']) {
      const b = lecturer.page.getByRole('button', { name, exact: true });
      await b.click();
      await expect.poll(() => b.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    }
    const students = [];
    for (let i = 1; i <= 3; i++) students.push(await join(`student${i}`, `student${i}`, ''));
    const everyone = [lecturer, ...students];
    await lecturer.page.getByText('3 people watching').waitFor({ timeout: STEP_MS });
    for (const s of students) {
      await s.page.waitForFunction(
        () => {
          const v = document.querySelector<HTMLVideoElement>('video[data-role="main"]');
          return !!v && v.dataset.label === 'screenshare' && v.videoWidth > 0 && !v.paused;
        },
        undefined,
        { timeout: STEP_MS },
      );
    }

    await students[0]!.page.getByLabel('Message', { exact: true }).fill('Will the slides be online?');
    await students[0]!.page.getByRole('button', { name: 'Send' }).click();
    for (const w of everyone) await w.page.getByRole('log').getByText('Will the slides be online?').waitFor({ timeout: STEP_MS });
    await students[1]!.page.getByRole('button', { name: 'Raise hand' }).click();
    await lecturer.page.getByRole('listitem').filter({ hasText: 'student2' }).getByText('hand raised').waitFor({ timeout: STEP_MS });

    // Live HLS (on by default) is running: its subscriber is in the group, and nobody is told "Recording".
    await lecturer.page.waitForFunction(
      () =>
        [...(window as unknown as { lectern: { conn: { users: Map<string, { username?: string }> } } }).lectern.conn.users.values()].some(
          (u) => u.username === 'hls',
        ),
      undefined,
      { timeout: STEP_MS },
    );
    for (const w of everyone) await expect(indicatorText(w)).resolves.toBe('');
    await saveScreenshot(lecturer.page, 'readme-lecturer');
    await saveScreenshot(students[0]!.page, 'readme-student');

    await lecturer.page.getByRole('button', { name: 'Record', exact: true }).click();
    for (const w of everyone) await w.page.locator('.recording-indicator').filter({ hasText: 'Recording' }).waitFor({ timeout: STEP_MS });
    const folder = path.join(server.recordingsDir, example.name);
    const webms = () => (fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => !f.startsWith('.') && f.endsWith('.webm')) : []);
    await waitFor(() => webms().length > 0, STEP_MS, 'a WebM in the recordings folder');
    await sleep(4000); // a few seconds of lecture in the recording
    await lecturer.page.getByRole('button', { name: 'Stop recording', exact: true }).click();
    for (const w of everyone) await expect.poll(() => indicatorText(w), { timeout: STEP_MS }).toBe('');
    await lecturer.page.getByRole('button', { name: 'Record', exact: true }).waitFor({ timeout: STEP_MS });

    const mp4s = () => (fs.existsSync(folder) ? fs.readdirSync(folder).filter((f) => !f.startsWith('.') && f.endsWith('.mp4')) : []);
    await waitFor(() => mp4s().length === 1, CHAIN_MS, 'the lecture video (composite MP4)');
    const rec = mp4s()[0]!.slice(0, -'.mp4'.length);

    // A student, read-only: the group page links to the recordings, which asks for the group's credentials.
    const link = students[2]!.page.getByRole('link', { name: 'Recordings' });
    await link.waitFor({ timeout: STEP_MS });
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    await ctx.context.setHTTPCredentials({ username: 'student3', password: '' });
    const w = new PageWatch(await ctx.context.newPage(), 'student-recordings');
    watches.push(w);
    expect((await w.page.goto(new URL((await link.getAttribute('href'))!, server.url).href, { timeout: STEP_MS }))?.status()).toBe(200);
    const card = w.page.locator(`li.recording[data-recording="${rec}"]`);
    const play = card.getByRole('button', { name: /^Play the replay of Physics 101 — / });
    await play.waitFor({ timeout: CHAIN_MS }); // the replay is made after the composite
    await expect(card.getByRole('button', { name: /^Delete/ }).count()).resolves.toBe(0); // read-only
    await play.click();
    await w.page.waitForFunction(
      () => {
        const v = document.querySelector<HTMLVideoElement>('.replay-player video');
        return !!v && v.currentTime > 1;
      },
      undefined,
      { timeout: STEP_MS },
    );
    await saveScreenshot(w.page, 'readme-student-replay');
    const [download] = await Promise.all([
      w.page.waitForEvent('download', { timeout: STEP_MS }),
      card.getByRole('link', { name: 'Lecture video (MP4)' }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^Physics 101 – \d{4}-\d{2}-\d{2} \d{2}-\d{2}\.mp4$/);
    expect(await download.failure()).toBeNull();
    expect(fs.readFileSync((await download.path())!).equals(fs.readFileSync(path.join(folder, `${rec}.mp4`)))).toBe(true);
  }, 420_000);
});
