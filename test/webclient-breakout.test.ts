/**
 * Lectern's web client, small groups: in a group with auto-subgroups an op creates a small group, whose link
 * reaches the member in the chat; the member moves there with one click, the op sees it live with the
 * `subgroups` action, and the member comes back to the main group with one click.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';

const STEP_MS = 30_000;

describe("Lectern's web client: small groups", () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: {
        class: {
          'auto-subgroups': true,
          users: { prof: { password: 'pw', permissions: 'op' } },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
      },
    });
    browser = await launchBrowser();
  });

  afterEach((c) => checkPagesAfterTest('webclient-breakout', c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const ctx of contexts) await ctx.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  async function open(name: string, username: string, password: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    await w.page.goto(`${server.url}/group/class/`, { timeout: STEP_MS });
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    return w;
  }

  it('an op opens a small group, a member goes there with one click and comes back', async () => {
    const op = await open('op', 'prof', 'pw');
    const member = await open('member', 'sam', 'whatever');
    await expect(member.page.getByRole('button', { name: 'Create small group' }).isVisible()).resolves.toBe(false);

    await op.page.getByLabel('Small group name').fill('team1');
    await op.page.getByRole('button', { name: 'Create small group' }).click();
    const link = member.page.getByRole('log').getByRole('link', { name: `${server.url}/group/class/team1/` });
    await link.waitFor({ timeout: STEP_MS });
    await saveScreenshot(member.page, 'webclient-breakout-invited');

    await link.click();
    await member.page.waitForURL(`${server.url}/group/class/team1/`, { timeout: STEP_MS });
    await member.page.getByRole('status').filter({ hasText: 'Connected. Joined as sam' }).waitFor({ timeout: STEP_MS });
    await op.page.getByRole('listitem').filter({ hasText: 'sam' }).waitFor({ state: 'detached', timeout: STEP_MS });

    await op.page.getByRole('button', { name: 'List small groups' }).click();
    await op.page.locator('.breakouts li').filter({ hasText: 'class/team1 (1 person)' }).waitFor({ timeout: STEP_MS });
    // The reply went to the panel, not the chat.
    await expect(op.page.getByRole('log').getByText('client)').count()).resolves.toBe(0);
    await saveScreenshot(op.page, 'webclient-breakout-listed');
    await saveScreenshot(member.page, 'webclient-breakout-in-small-group');

    await member.page.getByRole('link', { name: 'Back to class' }).click();
    await member.page.waitForURL(`${server.url}/group/class/`, { timeout: STEP_MS });
    await member.page.getByRole('status').filter({ hasText: 'Connected. Joined as sam' }).waitFor({ timeout: STEP_MS });
    await op.page.getByRole('listitem').filter({ hasText: 'sam' }).waitFor({ timeout: STEP_MS });
    await saveScreenshot(member.page, 'webclient-breakout-back');
  });
});
