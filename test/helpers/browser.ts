import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium; override with CHROMIUM=/path/to/chrome. */
export const CHROMIUM_PATH = process.env.CHROMIUM ?? '/usr/bin/chromium';

/** Screenshots and other browser-test output (gitignored). */
export const ARTIFACTS_DIR = path.resolve('test-artifacts');

/**
 * Features to turn off. Chromium honours only the last --disable-features, so this repeats Playwright's own
 * defaults (which otherwise would be overridden) and adds ours.
 */
const DISABLED_FEATURES = [
  // Playwright's defaults (playwright-core 1.65, chromiumSwitches.ts).
  'AvoidUnnecessaryBeforeUnloadCheckSync',
  'DestroyProfileOnBrowserClose',
  'HttpsUpgrades',
  'HttpsFirstBalancedModeAutoEnable',
  'LensOverlay',
  'MediaRouter',
  'PaintHolding',
  'ThirdPartyStoragePartitioning',
  'AvoidCorsURLLoaderRestartOnRedirect',
  'OptimizationHints',
  'NetworkTimeServiceQuerying',
  'AimEnabled',
  'PreconnectToSearch',
  // Host ICE candidates as plain addresses (127.0.0.1), not mDNS names that would need multicast to resolve.
  'WebRtcHideLocalIpsWithMdns',
  // No cast discovery (SSDP/mDNS multicast), no translation or other Google services.
  'DialMediaRouteProvider',
  'GlobalMediaControls',
  'Translate',
  'InterestFeedContentSuggestions',
  'AutofillServerCommunication',
  'CertificateTransparencyComponentUpdater',
];

/** The switches every browser test runs Chromium with: headless, fake camera and microphone, nothing off loopback. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--no-default-browser-check',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-domain-reliability',
  '--disable-client-side-phishing-detection',
  '--disable-breakpad',
  '--metrics-recording-only',
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--allow-loopback-in-peer-connection',
  // Host names never reach a real resolver: anything but loopback fails to resolve.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
  '--autoplay-policy=no-user-gesture-required',
  '--mute-audio',
  '--hide-scrollbars',
  `--disable-features=${DISABLED_FEATURES.join(',')}`,
];

/**
 * Launches Debian's Chromium through playwright-core with CHROMIUM_ARGS (plus any extra switches). `nice`
 * (the bench) starts it through `nice -n`, so that every thread and process it starts runs at that priority.
 */
export async function launchBrowser(extraArgs: string[] = [], opts: { nice?: number } = {}): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM_PATH)) throw new Error(`no Chromium at ${CHROMIUM_PATH} (set CHROMIUM=/path/to/chrome)`);
  return chromium.launch({
    executablePath: opts.nice ? nicedChromium(opts.nice) : CHROMIUM_PATH,
    // We pass --headless=new ourselves; Playwright's `headless` would add a second, plain --headless.
    headless: false,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 30_000,
  });
}

/** A script that runs Chromium at the given nice level (Linux nice is per thread: renicing a pid is not enough). */
function nicedChromium(nice: number): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-chromium-')), 'chromium');
  fs.writeFileSync(file, `#!/bin/sh\nexec nice -n ${Math.trunc(nice)} ${JSON.stringify(CHROMIUM_PATH)} "$@"\n`, { mode: 0o755 });
  return file;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** True for URLs that stay on this machine (loopback HTTP(S)/WS, data:, blob:, about:). */
export function isLoopbackUrl(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (['data:', 'blob:', 'about:'].includes(u.protocol)) return true;
  return LOOPBACK_HOSTS.has(u.hostname);
}

export interface LoopbackContext {
  context: BrowserContext;
  /** Requests that tried to leave loopback and were aborted. */
  blocked: string[];
}

/** A browser context with camera and microphone granted whose requests off loopback are aborted and recorded. */
export async function newLoopbackContext(browser: Browser, origin?: string): Promise<LoopbackContext> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  if (origin) await context.grantPermissions(['camera', 'microphone'], { origin });
  const blocked: string[] = [];
  await context.route(
    (url) => !isLoopbackUrl(url.toString()),
    (route) => {
      blocked.push(route.request().url());
      return route.abort('blockedbyclient');
    },
  );
  return { context, blocked };
}

/** What a page has reported: uncaught errors (a test failure) and the console (for diagnostics). */
export class PageWatch {
  readonly errors: string[] = [];
  readonly console: string[] = [];
  /** HTTP responses of 400 and above, and requests that failed outright. */
  readonly httpErrors: string[] = [];

  constructor(
    readonly page: Page,
    readonly name: string,
  ) {
    page.on('pageerror', (err) => this.errors.push(`${err.name}: ${err.message}\n${err.stack ?? ''}`));
    page.on('console', (msg) => this.console.push(`[${msg.type()}] ${msg.text()}`));
    page.on('crash', () => this.errors.push('page crashed'));
    page.on('response', (res) => {
      if (res.status() >= 400) this.httpErrors.push(`${res.status()} ${res.request().method()} ${res.url()}`);
    });
    page.on('requestfailed', (req) =>
      this.httpErrors.push(`failed ${req.method()} ${req.url()}: ${req.failure()?.errorText ?? '?'}`),
    );
  }

  /** Throws if the page logged an uncaught error or an unhandled rejection. */
  assertNoErrors(): void {
    if (this.errors.length > 0) {
      throw new Error(`${this.name}: uncaught error(s) in the page:\n${this.errors.join('\n')}`);
    }
  }

  /** The console so far, for a failure message. */
  dump(): string {
    const http = this.httpErrors.length ? `\n--- ${this.name} HTTP errors ---\n${this.httpErrors.join('\n')}` : '';
    return `--- ${this.name} console ---\n${this.console.join('\n') || '(empty)'}${http}`;
  }
}

/** Saves a full-page screenshot to test-artifacts/<name>.png; never throws (used on failure paths too). */
export async function saveScreenshot(page: Page, name: string): Promise<string | undefined> {
  try {
    fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
    const file = path.join(ARTIFACTS_DIR, `${name.replace(/[^\w.-]+/g, '_')}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
    return file;
  } catch (err) {
    console.warn(`screenshot ${name} failed: ${(err as Error).message}`);
    return undefined;
  }
}

/**
 * What every browser test checks after each test: on failure, a screenshot of each page and their logs;
 * always, that no page logged an uncaught error and that no request tried to leave loopback.
 */
export async function checkPagesAfterTest(
  artifactPrefix: string,
  failed: boolean,
  watches: readonly PageWatch[],
  contexts: readonly LoopbackContext[],
): Promise<void> {
  if (failed) {
    for (const w of watches) await saveScreenshot(w.page, `${artifactPrefix}-FAILED-${w.name}`);
    console.error(watches.map((w) => w.dump()).join('\n'));
  }
  for (const w of watches) w.assertNoErrors();
  for (const c of contexts) expect(c.blocked, 'requests that tried to leave loopback').toEqual([]);
}

/** Chromium's count of decoded video frames, on a page that keeps its peer connection in `window.pc`. */
export async function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const stats = await (window as unknown as { pc: RTCPeerConnection }).pc.getStats();
    let n = 0;
    stats.forEach((s: { type: string; kind?: string; framesDecoded?: number }) => {
      if (s.type === 'inbound-rtp' && s.kind === 'video') n += s.framesDecoded ?? 0;
    });
    return n;
  });
}
