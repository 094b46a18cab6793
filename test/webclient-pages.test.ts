/**
 * Lectern's web client outside a meeting or lecture: the login page in French (`?lang=fr`), and the landing
 * page at `/` that lists the public groups with their live state and goes to a group typed by name.
 */
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';

const STEP_MS = 30_000;

describe("Lectern's web client: login in French and the landing page", () => {
  let server: TestServer;
  let browser: Browser;
  let ctx: LoopbackContext;
  const watches: PageWatch[] = [];

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({
      groups: {
        agora: { public: true, displayName: 'The Agora', description: 'Open to all', 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' } },
        // autolock: locked until an op comes.
        vault: { public: true, autolock: true, users: { op: { password: 'x', permissions: 'op' } } },
        hidden: { 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' } },
      },
    });
    browser = await launchBrowser();
    ctx = await newLoopbackContext(browser, server.url);
  });

  afterEach((c) => checkPagesAfterTest('webclient-pages', c.task.result?.state === 'fail', watches, [ctx]));

  afterAll(async () => {
    await ctx?.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('shows the login page in French with ?lang=fr, and joins', async () => {
    const w = new PageWatch(await ctx.context.newPage(), 'french');
    watches.push(w);
    await w.page.goto(`${server.url}/group/agora/?lang=fr`, { timeout: STEP_MS });
    await w.page.getByLabel("Nom d'utilisateur").waitFor({ timeout: STEP_MS });
    await expect(w.page.getByLabel('Mot de passe').count()).resolves.toBe(1);
    await expect(w.page.getByRole('heading', { name: 'Rejoindre le groupe' }).count()).resolves.toBe(1);
    await expect(w.page.evaluate(() => document.documentElement.lang)).resolves.toBe('fr');
    await saveScreenshot(w.page, 'webclient-pages-login-fr');
    await w.page.getByLabel("Nom d'utilisateur").fill('zoé');
    await w.page.getByRole('button', { name: 'Rejoindre' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connecté' }).waitFor({ timeout: STEP_MS });
    await expect(w.page.getByRole('button', { name: 'Lever la main' }).count()).resolves.toBe(1);
  });

  it('the landing page lists the public groups with their state and goes to a typed group', async () => {
    const w = new PageWatch(await ctx.context.newPage(), 'landing');
    watches.push(w);
    const res = await w.page.goto(`${server.url}/`, { timeout: STEP_MS });
    expect(res?.status()).toBe(200);
    const agora = w.page.locator('li[data-group="agora"]');
    await agora.waitFor({ timeout: STEP_MS });
    // zoé, from the test before, is still in the agora.
    await expect(agora.textContent()).resolves.toContain('The Agora (1 person)');
    await expect(agora.getByRole('link', { name: 'The Agora' }).getAttribute('href')).resolves.toBe('/group/agora/');
    await expect(w.page.locator('li[data-group="vault"]').textContent()).resolves.toContain('vault (0 people, locked)');
    await expect(w.page.locator('li[data-group="hidden"]').count()).resolves.toBe(0);
    await saveScreenshot(w.page, 'webclient-pages-landing');
    await w.page.getByLabel('Group name').fill('hidden');
    await w.page.keyboard.press('Enter');
    await w.page.waitForURL(`${server.url}/group/hidden/`, { timeout: STEP_MS });
    await w.page.getByLabel('Username').waitFor({ timeout: STEP_MS });
  });
});
