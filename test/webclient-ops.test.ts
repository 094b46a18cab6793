/**
 * Lectern's web client, an op's controls in the participants list: mute a presenter, kick a viewer with a
 * message, lock the group (a newcomer is refused with a clear message) and unlock it, and start and stop
 * recording (the server's recorder joins as a pseudo-user, shown as a "Recording" indicator).
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';

const GROUP = 'course';
const STEP_MS = 30_000;

describe("Lectern's web client: op controls", () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];

  async function openPage(name: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    // ?view=lecture: this group's mix of presenters must not turn it into a meeting.
    await w.page.goto(`${server.url}/group/${GROUP}/?view=lecture`, { timeout: STEP_MS });
    await w.page.getByLabel('Username').waitFor({ state: 'attached', timeout: STEP_MS });
    return w;
  }

  async function submitLogin(w: PageWatch, username: string, password: string): Promise<void> {
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
  }

  async function login(w: PageWatch, username: string, password: string): Promise<void> {
    await submitLogin(w, username, password);
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
  }

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: {
        [GROUP]: {
          'allow-recording': true,
          users: {
            teacher: { password: 'secret', permissions: 'op' },
            speaker: { password: 'talk', permissions: 'present' },
          },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
      },
    });
    browser = await launchBrowser();
  });

  afterEach((c) => checkPagesAfterTest(`webclient-ops-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('an op mutes a presenter, kicks a viewer with a message, and locks then unlocks the group', async () => {
    const op = await openPage('op');
    await login(op, 'teacher', 'secret');
    const speaker = await openPage('speaker');
    await login(speaker, 'speaker', 'talk');
    const mic = speaker.page.getByRole('button', { name: 'Microphone', exact: true });
    await mic.click();
    await expect.poll(() => mic.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('true');
    const viewer = await openPage('viewer');
    await login(viewer, 'student1', '');

    // Only the op sees the controls, and never for itself.
    for (const w of [speaker, viewer]) {
      await expect(w.page.getByRole('button', { name: /^Kick / }).count()).resolves.toBe(0);
      await expect(w.page.getByRole('group', { name: 'Group controls' }).isVisible()).resolves.toBe(false);
    }
    await op.page.getByRole('button', { name: 'Kick student1' }).waitFor({ timeout: STEP_MS });
    await expect(op.page.getByRole('button', { name: 'Kick teacher' }).count()).resolves.toBe(0);
    // Mute is offered for presenters only (a viewer has no microphone to mute).
    await expect(op.page.getByRole('button', { name: 'Mute student1' }).count()).resolves.toBe(0);
    await saveScreenshot(op.page, 'webclient-ops-op-controls');

    // Mute: the presenter's microphone goes off, and it is told who did it.
    await op.page.getByRole('button', { name: 'Mute speaker' }).click();
    await expect.poll(() => mic.getAttribute('aria-pressed'), { timeout: STEP_MS }).toBe('false');
    await speaker.page.getByText('You were muted by teacher.').waitFor({ timeout: STEP_MS });
    await saveScreenshot(speaker.page, 'webclient-ops-muted');

    // Kick with a message.
    await op.page.getByLabel('Message for kick or lock (optional)').fill('please leave the room');
    await op.page.getByRole('button', { name: 'Kick student1' }).click();
    await viewer.page.getByRole('alert').filter({ hasText: 'You were kicked by teacher: please leave the room' }).waitFor({ timeout: STEP_MS });
    await op.page.getByRole('listitem').filter({ hasText: 'student1' }).waitFor({ state: 'detached', timeout: STEP_MS });
    // The message is used once.
    await expect(op.page.getByLabel('Message for kick or lock (optional)').inputValue()).resolves.toBe('');
    await saveScreenshot(viewer.page, 'webclient-ops-kicked');

    // Lock with a message: a newcomer is refused with it.
    await op.page.getByLabel('Message for kick or lock (optional)').fill('the exam has started');
    await op.page.getByRole('button', { name: 'Lock group', exact: true }).click();
    await op.page.getByRole('button', { name: 'Unlock group', exact: true }).waitFor({ timeout: STEP_MS });
    await speaker.page.getByText('The group is locked: nobody new can join.').waitFor({ timeout: STEP_MS });
    const late = await openPage('latecomer');
    await submitLogin(late, 'student2', '');
    await late.page.getByRole('alert').filter({ hasText: 'Could not join: the exam has started' }).waitFor({ timeout: STEP_MS });
    await expect(late.page.getByRole('status').textContent()).resolves.toBe('Failed: the exam has started');
    await expect(late.page.getByRole('button', { name: 'Join' }).isEnabled()).resolves.toBe(true);
    await saveScreenshot(late.page, 'webclient-ops-locked-out');

    // Unlock: the same newcomer gets in.
    await op.page.getByRole('button', { name: 'Unlock group', exact: true }).click();
    await op.page.getByRole('button', { name: 'Lock group', exact: true }).waitFor({ timeout: STEP_MS });
    await late.page.getByRole('button', { name: 'Join' }).click();
    await late.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    await op.page.getByRole('button', { name: 'Kick student2' }).waitFor({ timeout: STEP_MS });
    await saveScreenshot(op.page, 'webclient-ops-unlocked');
  });

  it('Record shows a Recording indicator to everyone (the recorder is not a participant); errors are shown plainly', async () => {
    const op = watches.find((w) => w.name === 'op')!;
    const speaker = watches.find((w) => w.name === 'speaker')!;
    // Only with the `record` permission.
    await expect(speaker.page.getByRole('button', { name: 'Record', exact: true }).count()).resolves.toBe(0);
    // Once the speaker publishes, live HLS (on by default) subscribes as a system member "hls". It is not the
    // recorder: nobody is told "Recording", and the op is offered Record.
    await speaker.page.getByRole('button', { name: 'Camera', exact: true }).click();
    await op.page.waitForFunction(
      () =>
        [...(window as unknown as { lectern: { conn: { users: Map<string, { username?: string; permissions: string[] }> } } }).lectern.conn.users.values()]
          .some((u) => u.username === 'hls' && u.permissions.includes('system')),
      undefined,
      { timeout: STEP_MS },
    );
    for (const w of [op, speaker]) await expect(w.page.locator('.recording-indicator').textContent()).resolves.toBe('');
    await op.page.getByRole('button', { name: 'Record', exact: true }).click();
    for (const w of [op, speaker]) {
      const indicator = w.page.locator('.recording-indicator');
      await indicator.filter({ hasText: 'Recording' }).waitFor({ timeout: STEP_MS });
      await expect(indicator.getAttribute('aria-live')).resolves.toBe('polite');
    }
    await op.page.getByRole('button', { name: 'Stop recording', exact: true }).waitFor({ timeout: STEP_MS });
    // The recorder's pseudo-user is neither listed nor counted as watching.
    await expect(op.page.getByRole('listitem').filter({ hasText: 'RECORDING' }).count()).resolves.toBe(0);
    await op.page.getByText('2 people watching').waitFor({ timeout: STEP_MS });
    await saveScreenshot(op.page, 'webclient-ops-recording');
    await saveScreenshot(speaker.page, 'webclient-ops-recording-speaker');

    // A second `record` (as another op's page could send) is refused by the server, and the refusal is shown.
    await op.page.evaluate(() => (window as unknown as { lectern: { conn: { groupAction(k: string): void } } }).lectern.conn.groupAction('record'));
    await op.page.locator('#notice').filter({ hasText: 'Server: already recording' }).waitFor({ timeout: STEP_MS });
    await saveScreenshot(op.page, 'webclient-ops-record-error');

    await op.page.getByRole('button', { name: 'Stop recording', exact: true }).click();
    for (const w of [op, speaker]) await w.page.locator('.recording-indicator').waitFor({ state: 'hidden', timeout: STEP_MS });
    await op.page.getByRole('button', { name: 'Record', exact: true }).waitFor({ timeout: STEP_MS });
  });
});
