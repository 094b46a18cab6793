/**
 * Lectern's web client with a group's authServer and authPortal (galene-protocol.md §1, Authentication): the
 * login posts {location, username, password} to the authServer, whose 200 application/jwt is joined with, whose
 * 204 falls back to the password and whose 403 is shown as a refusal; a group with an authPortal sends the page
 * there, and the portal sends it back with ?token=. The auth server is a tiny express app on loopback.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Browser } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, saveScreenshot, type LoopbackContext } from './helpers/browser.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { signHs256 } from './helpers/jwt.js';

const STEP_MS = 30_000;
const hsKey = randomBytes(32);

const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

function token(sub: string, aud: string): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt({ sub, aud, iat: now, exp: now + 600, permissions: ['message'] });
}

describe("Lectern's web client: authServer and authPortal", () => {
  let server: TestServer;
  let browser: Browser;
  let auth: Server;
  let authUrl = '';
  /** The bodies the authServer received. */
  const posted: unknown[] = [];
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];

  async function openPage(name: string, path: string): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), name);
    watches.push(w);
    await w.page.goto(`${server.url}${path}`, { timeout: STEP_MS });
    return w;
  }

  async function submit(w: PageWatch, username: string, password: string): Promise<void> {
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
  }

  beforeAll(async () => {
    await buildClient();
    const app = express();
    app.use('/auth', (req, res, next) => {
      res.set('Access-Control-Allow-Origin', server.url);
      res.set('Access-Control-Allow-Methods', 'POST');
      res.set('Access-Control-Allow-Headers', 'Content-Type');
      if (req.method === 'OPTIONS') return void res.status(204).end();
      next();
    });
    app.post('/auth', express.json(), (req, res) => {
      const body = req.body as { location?: string; username?: string; password?: string };
      posted.push(body);
      if (body.username === 'alice' && body.password === 'wonderland') {
        return void res.type('application/jwt').send(token('alice', body.location ?? ''));
      }
      if (body.username === 'bob') return void res.status(204).end();
      res.status(403).end();
    });
    // The portal "signs in" carol and sends her back to the group with a token.
    app.get('/portal', (_req, res) => {
      const location = `${server.url}/group/portal/`;
      res.redirect(302, `${location}?token=${token('carol', location)}`);
    });
    auth = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    authUrl = `http://127.0.0.1:${(auth.address() as AddressInfo).port}`;
    const authKeys = [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }];
    server = await startTestServer({
      groups: {
        gated: { authServer: `${authUrl}/auth`, authKeys, users: { bob: { password: 'builder', permissions: 'message' } } },
        portal: { authPortal: `${authUrl}/portal`, authKeys },
      },
    });
    browser = await launchBrowser();
  });

  afterEach((c) => checkPagesAfterTest(`webclient-auth-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await new Promise((r) => auth?.close(r));
  });

  it("the server's .status names the authServer and the authPortal", async () => {
    const gated = (await (await fetch(`${server.url}/group/gated/.status`)).json()) as Record<string, unknown>;
    expect(gated).toMatchObject({ authServer: `${authUrl}/auth`, location: `${server.url}/group/gated/` });
    const portal = (await (await fetch(`${server.url}/group/portal/.status`)).json()) as Record<string, unknown>;
    expect(portal).toMatchObject({ authPortal: `${authUrl}/portal` });
  });

  it('a 200 application/jwt from the authServer is joined with', async () => {
    const w = await openPage('alice', '/group/gated/');
    await submit(w, 'alice', 'wonderland');
    await w.page.getByRole('status').filter({ hasText: 'Joined as alice' }).waitFor({ timeout: STEP_MS });
    expect(posted.at(-1)).toEqual({ location: `${server.url}/group/gated/`, username: 'alice', password: 'wonderland' });
    await saveScreenshot(w.page, 'webclient-auth-server-token');
  });

  it('a 204 falls back to the password, which the server checks', async () => {
    const w = await openPage('bob', '/group/gated/');
    await submit(w, 'bob', 'wrong');
    await w.page.getByRole('alert').filter({ hasText: 'Could not join: not authorised' }).waitFor({ timeout: STEP_MS });
    await submit(w, 'bob', 'builder');
    await w.page.getByRole('status').filter({ hasText: 'Joined as bob' }).waitFor({ timeout: STEP_MS });
    expect(posted.at(-1)).toEqual({ location: `${server.url}/group/gated/`, username: 'bob', password: 'builder' });
  });

  it('a 403 is shown as a refusal, and no join is attempted', async () => {
    const w = await openPage('mallory', '/group/gated/');
    const sockets: string[] = [];
    w.page.on('websocket', (ws) => sockets.push(ws.url()));
    const before = posted.length;
    await submit(w, 'mallory', 'guess');
    await w.page.getByRole('alert').filter({ hasText: 'The authentication server refused this username and password.' }).waitFor({ timeout: STEP_MS });
    expect(posted.length).toBe(before + 1);
    expect(sockets).toEqual([]);
    await expect(w.page.getByRole('status').textContent()).resolves.toBe('Disconnected');
    await expect(w.page.getByRole('button', { name: 'Join' }).isEnabled()).resolves.toBe(true);
    await saveScreenshot(w.page, 'webclient-auth-server-refused');
  });

  it('a group with an authPortal sends the page there, and the token it comes back with joins', async () => {
    const w = await openPage('carol', '/group/portal/');
    await w.page.getByRole('status').filter({ hasText: 'Joined as carol' }).waitFor({ timeout: STEP_MS });
    expect(w.page.url()).toBe(`${server.url}/group/portal/`);
    await saveScreenshot(w.page, 'webclient-auth-portal');
  });
});
