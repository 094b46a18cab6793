/**
 * A sample of real browser viewers for bench/fanout.ts: headless Debian Chromium (playwright-core, the tests'
 * switches: loopback only, --allow-loopback-in-peer-connection), each page a minimal Galène protocol v2
 * client that joins, requests audio and video, answers the server's offer and plays nothing; the bench reads
 * their RTCPeerConnection getStats() inbound-rtp figures per kind.
 */
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, newLoopbackContext } from '../test/helpers/browser.js';

export interface BrowserKindStats {
  packetsReceived: number;
  packetsLost: number;
  /** Seconds, as getStats reports it. */
  jitter: number;
}

export interface BrowserViewerStats {
  connected: boolean;
  /** Milliseconds from sending `join` to the first inbound video packet being reported (polled). */
  firstVideoMs: number | null;
  video: BrowserKindStats | null;
  audio: BrowserKindStats | null;
}

export interface BrowserViewers {
  stats(): Promise<BrowserViewerStats[]>;
  close(): Promise<void>;
}

/** Runs in the page: the Galène client. Kept self-contained (it is serialised into the page). */
function pageClient(args: { wsUrl: string; group: string; username: string }): void {
  const w = window as unknown as { benchPc?: RTCPeerConnection; benchJoinAt?: number; benchFirstVideoAt?: number };
  const id = Math.random().toString(16).slice(2) + Math.random().toString(16).slice(2);
  const ws = new WebSocket(args.wsUrl);
  const send = (m: unknown) => ws.send(JSON.stringify(m));
  ws.onopen = () => send({ type: 'handshake', version: ['2'], id });
  ws.onmessage = async (ev) => {
    const m = JSON.parse(String(ev.data)) as { type: string; kind?: string; id?: string; sdp?: string };
    if (m.type === 'handshake') {
      w.benchJoinAt = performance.now();
      send({ type: 'join', kind: 'join', group: args.group, username: args.username });
    } else if (m.type === 'joined' && m.kind === 'join') {
      send({ type: 'request', request: { '': ['audio', 'video'] } });
    } else if (m.type === 'ping') {
      send({ type: 'pong' });
    } else if (m.type === 'offer' && m.id && m.sdp) {
      const pc = (w.benchPc ??= new RTCPeerConnection({ iceServers: [] }));
      await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
      await pc.setLocalDescription(await pc.createAnswer());
      if (pc.iceGatheringState !== 'complete') {
        await new Promise<void>((r) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && r()));
      }
      send({ type: 'answer', id: m.id, source: id, username: args.username, sdp: pc.localDescription!.sdp });
    }
  };
}

/** Runs in the page: inbound-rtp per kind. */
async function pageStats(): Promise<BrowserViewerStats> {
  const w = window as unknown as { benchPc?: RTCPeerConnection; benchJoinAt?: number; benchFirstVideoAt?: number };
  const out: BrowserViewerStats = { connected: w.benchPc?.connectionState === 'connected', firstVideoMs: null, video: null, audio: null };
  if (!w.benchPc) return out;
  const report = await w.benchPc.getStats();
  report.forEach((s: { type: string; kind?: string; packetsReceived?: number; packetsLost?: number; jitter?: number }) => {
    if (s.type !== 'inbound-rtp' || (s.kind !== 'video' && s.kind !== 'audio')) return;
    out[s.kind] = { packetsReceived: s.packetsReceived ?? 0, packetsLost: s.packetsLost ?? 0, jitter: s.jitter ?? 0 };
  });
  if (out.video && out.video.packetsReceived > 0 && w.benchFirstVideoAt === undefined) w.benchFirstVideoAt = performance.now();
  if (w.benchFirstVideoAt !== undefined && w.benchJoinAt !== undefined) out.firstVideoMs = Math.round(w.benchFirstVideoAt - w.benchJoinAt);
  return out;
}

/**
 * Opens `count` Chromium viewers of the Lectern server at `origin` (http://127.0.0.1:port), at the werift
 * viewers' nice level: at a higher priority, Chromium's decoding bursts would starve them.
 */
export async function startBrowserViewers(count: number, origin: string, group: string, nice: number): Promise<BrowserViewers> {
  const browser: Browser = await launchBrowser([], { nice });
  const pages: Page[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const { context } = await newLoopbackContext(browser);
      // tsx (esbuild, keepNames) wraps the functions we pass to evaluate in a `__name` helper the page lacks.
      await context.addInitScript({ content: 'globalThis.__name = (f) => f;' });
      const page = await context.newPage();
      await page.goto(`${origin}/`);
      await page.evaluate(pageClient, { wsUrl: `${origin.replace(/^http/, 'ws')}/ws`, group, username: `browser${i}` });
      pages.push(page);
    }
  } catch (err) {
    await browser.close();
    throw err;
  }
  // Poll so that firstVideoMs is noted close to when it happened.
  const poll = setInterval(() => {
    for (const p of pages) void p.evaluate(pageStats).catch(() => undefined);
  }, 250);
  return {
    stats: () => Promise.all(pages.map((p) => p.evaluate(pageStats))),
    async close() {
      clearInterval(poll);
      await browser.close().catch(() => undefined);
    },
  };
}
