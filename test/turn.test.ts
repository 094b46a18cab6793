/**
 * The built-in TURN server (--turn) end to end: with relay-only clients (config.json "relayOnly", Galène's
 * -relay-only), a Chromium publisher and a Chromium viewer reach the server only through it, once with TURN
 * over UDP and once over TCP, on loopback. Also: the default (--turn auto) gives no TURN server when the
 * media addresses are loopback only.
 */
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildClient } from '../src/web/client/build.js';
import { checkPagesAfterTest, launchBrowser, newLoopbackContext, PageWatch, type LoopbackContext } from './helpers/browser.js';
import { LECTURE_GROUP, startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil } from './helpers/wait.js';
import { WsClient } from './helpers/wsClient.js';

const STEP_MS = 20_000;

interface PathInfo {
  connected: boolean;
  candidateType: string | undefined;
  relayProtocol: string | undefined;
  address: string | undefined;
  bytesSent: number;
  bytesReceived: number;
  pairs?: string[];
  inbound?: string[];
}

/** For each of the page's up or down streams: the selected candidate pair's local candidate and the bytes it carried. */
async function selectedPaths(page: Page, dir: 'up' | 'down'): Promise<PathInfo[]> {
  return page.evaluate(async (dir) => {
    const conn = (window as unknown as { lectern: { conn: Record<'up' | 'down', Map<string, { pc: RTCPeerConnection }>> } }).lectern.conn;
    const out = [];
    for (const s of conn[dir].values()) {
      const stats = await s.pc.getStats();
      const byId = new Map<string, Record<string, unknown>>();
      stats.forEach((r: Record<string, unknown>) => byId.set(r.id as string, r));
      const transport = [...byId.values()].find((r) => r.type === 'transport');
      const pair = byId.get(transport?.selectedCandidatePairId as string);
      const local = byId.get(pair?.localCandidateId as string);
      out.push({
        connected: s.pc.connectionState === 'connected',
        candidateType: local?.candidateType as string | undefined,
        relayProtocol: local?.relayProtocol as string | undefined,
        address: local?.address as string | undefined,
        // Over every pair (relay-only: all relay). With two local relays (one per interface) the ICE-lite server
        // may send on a succeeded pair other than the one Chromium selected; Chromium accepts media on both.
        bytesSent: [...byId.values()].filter((r) => r.type === 'candidate-pair').reduce((n, r) => n + Number(r.bytesSent ?? 0), 0),
        bytesReceived: [...byId.values()].filter((r) => r.type === 'candidate-pair').reduce((n, r) => n + Number(r.bytesReceived ?? 0), 0),
        pairs: [...byId.values()].filter((r) => r.type === 'candidate-pair').map((r) => `${r.id === pair?.id ? '*' : ''}${r.state} ${byId.get(r.localCandidateId as string)?.port}->${byId.get(r.remoteCandidateId as string)?.port} s${r.bytesSent} r${r.bytesReceived}`),
        inbound: [...byId.values()].filter((r) => r.type === 'inbound-rtp').map((r) => `${r.kind} ${r.packetsReceived}`),
      });
    }
    return out;
  }, dir);
}

describe('built-in TURN server', () => {
  let server: TestServer;
  let browser: Browser;
  const contexts: LoopbackContext[] = [];
  const watches: PageWatch[] = [];

  beforeAll(async () => {
    await buildClient();
    server = await startTestServer({ groups: { 'lecture-udp': LECTURE_GROUP, 'lecture-tcp': LECTURE_GROUP }, config: { relayOnly: true }, turn: { mode: 'fixed', ip: '127.0.0.1', port: 0 } });
    browser = await launchBrowser();
  }, 60_000);

  afterEach((c) => checkPagesAfterTest(`turn-${c.task.name}`, c.task.result?.state === 'fail', watches, contexts));

  afterAll(async () => {
    for (const c of contexts) await c.context.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  /** Opens the group page and logs in; its peer connections keep only the TURN URLs of `transport` (as a network blocking the other would). */
  async function join(name: string, username: string, password: string, transport: 'udp' | 'tcp'): Promise<PageWatch> {
    const ctx = await newLoopbackContext(browser, server.url);
    contexts.push(ctx);
    const w = new PageWatch(await ctx.context.newPage(), `${name}-${transport}`);
    watches.push(w);
    await w.page.addInitScript((transport) => {
      const Native = window.RTCPeerConnection;
      window.RTCPeerConnection = class extends Native {
        constructor(config?: RTCConfiguration) {
          const iceServers = (config?.iceServers ?? []).map((s) => ({
            ...s,
            urls: (Array.isArray(s.urls) ? s.urls : [s.urls]).filter((u) => u.endsWith('?transport=tcp') === (transport === 'tcp')),
          }));
          super({ ...config, iceServers });
        }
      };
    }, transport);
    await w.page.goto(`${server.url}/group/lecture-${transport}/`, { timeout: STEP_MS });
    await w.page.getByLabel('Username').fill(username);
    await w.page.getByLabel('Password').fill(password);
    await w.page.getByRole('button', { name: 'Join' }).click();
    await w.page.getByRole('status').filter({ hasText: 'Connected' }).waitFor({ timeout: STEP_MS });
    const config = await w.page.evaluate(() => (window as unknown as { lectern: { conn: { rtcConfiguration: RTCConfiguration } } }).lectern.conn.rtcConfiguration);
    expect(config.iceTransportPolicy).toBe('relay');
    expect(config.iceServers).toHaveLength(1);
    const turn = config.iceServers![0]!;
    expect(turn.urls).toEqual([expect.stringMatching(/^turn:127\.0\.0\.1:\d+$/), expect.stringMatching(/^turn:127\.0\.0\.1:\d+\?transport=tcp$/)]);
    expect(turn.username).toMatch(/^\d+:/);
    expect(Number(turn.username!.split(':')[0]) * 1000).toBeGreaterThan(Date.now());
    return w;
  }

  for (const transport of ['udp', 'tcp'] as const) {
    it(`a relay-only publisher and viewer get the lecture through it over ${transport.toUpperCase()}`, async () => {
      const presenter = await join('presenter', 'teacher', 'pw', transport);
      await presenter.page.getByRole('button', { name: 'Camera', exact: true }).click();
      const up = await waitUntil(
        'the publisher to send through a relay candidate',
        () => selectedPaths(presenter.page, 'up'),
        (p) => p.length === 1 && p[0]!.connected && p[0]!.bytesSent > 50_000,
        STEP_MS,
      );
      expect(up[0]).toMatchObject({ candidateType: 'relay', relayProtocol: transport, address: '127.0.0.1' });
      const viewer = await join('viewer', 'student', '', transport);
      const down = await waitUntil(
        'the viewer to receive through a relay candidate',
        () => selectedPaths(viewer.page, 'down'),
        (p) => p.length === 1 && p[0]!.connected && p[0]!.bytesReceived > 50_000,
        STEP_MS,
      );
      expect(down[0]).toMatchObject({ candidateType: 'relay', relayProtocol: transport, address: '127.0.0.1' });
      const frames = await waitUntil(
        'the viewer to paint frames',
        () => viewer.page.evaluate(() => (document.querySelector('video[data-role="main"]') as HTMLVideoElement | null)?.getVideoPlaybackQuality().totalVideoFrames ?? 0),
        (n) => n > 10,
        STEP_MS,
      );
      expect(frames).toBeGreaterThan(10);
      for (const w of [presenter, viewer]) await w.page.close();
      watches.length = 0;
    }, 60_000);
  }
});

describe('--turn auto, the default', () => {
  it('starts no TURN server when the media addresses are loopback only, so clients get no TURN entry', async () => {
    const server = await startTestServer({ groups: { lecture: LECTURE_GROUP } });
    try {
      const { c, joined } = await WsClient.join(server.wsUrl, 'lecture', 'student', '');
      expect(joined.rtcConfiguration).toEqual({ iceServers: [] });
      c.close();
    } finally {
      await server.stop();
    }
  });
});
