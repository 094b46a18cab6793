import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  launchBrowser,
  newLoopbackContext,
  PageWatch,
  saveScreenshot,
  type LoopbackContext,
} from './helpers/browser.js';
import { findGaleneStatic, GALENE_STATIC_HINT } from './helpers/galeneStatic.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitUntil as waitUntilMs } from './helpers/wait.js';

const staticDir = findGaleneStatic();
// Galène's client is a third-party artefact we may not commit: without it, say loudly why this file is skipped.
if (!staticDir) console.warn(`galene-client.test.ts is SKIPPED. ${GALENE_STATIC_HINT}`);

const GROUP = 'lecture';
/**
 * HTTP errors that are Galène's own and not ours: galene.js probes (HEAD) for MediaPipe's background-blur bundle,
 * which jech/galene does not ship in static/ (it is installed separately), and Galène answers 404 too.
 */
const EXPECTED_HTTP_ERRORS = /\/third-party\/tasks-vision\//;
const STEP_MS = 30_000;

/** What the page says about one stream's <video>: size, frames decoded, and how many frames were painted meanwhile. */
interface VideoProbe {
  found: boolean;
  videoWidth: number;
  videoHeight: number;
  paused: boolean;
  framesBefore: number;
  framesAfter: number;
  callbacks: number;
}

/**
 * Measures a stream's <video> (Galène names it media-<localId>) for `ms`: getVideoPlaybackQuality().totalVideoFrames
 * before and after, and the number of requestVideoFrameCallback calls meanwhile.
 */
async function probeVideo(page: Page, elementId: string, ms: number): Promise<VideoProbe> {
  return page.evaluate(
    async ({ elementId, ms }) => {
      const v = document.getElementById(elementId);
      if (!(v instanceof HTMLVideoElement)) {
        return { found: false, videoWidth: 0, videoHeight: 0, paused: true, framesBefore: 0, framesAfter: 0, callbacks: 0 };
      }
      let callbacks = 0;
      let running = true;
      const tick = () => {
        callbacks++;
        if (running) v.requestVideoFrameCallback(tick);
      };
      v.requestVideoFrameCallback(tick);
      const framesBefore = v.getVideoPlaybackQuality().totalVideoFrames;
      await new Promise((r) => setTimeout(r, ms));
      running = false;
      return {
        found: true,
        videoWidth: v.videoWidth,
        videoHeight: v.videoHeight,
        paused: v.paused,
        framesBefore,
        framesAfter: v.getVideoPlaybackQuality().totalVideoFrames,
        callbacks,
      };
    },
    { elementId, ms },
  );
}

/** The streams Galène's client holds (its global `serverConnection`), by direction. */
async function clientStreams(
  page: Page,
  dir: 'up' | 'down',
): Promise<{ id: string; localId: string; label: string; username: string | undefined; state: string }[]> {
  return page.evaluate((dir) => {
    // galene.js keeps the connection in a top-level `let`, reachable by name but not as a window property.
    const sc = (0, eval)('typeof serverConnection === "undefined" ? null : serverConnection') as {
      up: Record<string, { id: string; localId: string; label: string; username?: string; pc?: RTCPeerConnection }>;
      down: Record<string, { id: string; localId: string; label: string; username?: string; pc?: RTCPeerConnection }>;
    } | null;
    if (!sc) return [];
    return Object.values(sc[dir]).map((c) => ({
      id: c.id,
      localId: c.localId,
      label: c.label,
      username: c.username,
      state: c.pc ? `${c.pc.connectionState}/${c.pc.iceConnectionState}` : 'no pc',
    }));
  }, dir);
}

/** Fills Galène's login form and submits it. */
async function login(page: Page, username: string, password: string, present: 'both' | 'off'): Promise<void> {
  await page.locator('#login-container').waitFor({ state: 'visible', timeout: STEP_MS });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.check(present === 'both' ? '#presentboth' : '#presentoff');
  await page.click('#connectbutton');
}


/** Polls until `probe` gives a value `ok` accepts, within one test step by default. */
const waitUntil = <T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean, ms = STEP_MS) =>
  waitUntilMs(what, probe, ok, ms);

describe.skipIf(!staticDir)("Galène's own web client against Lectern", () => {
  let server: TestServer;
  let browser: Browser;
  const ctx: LoopbackContext[] = [];
  let teacher: PageWatch;
  let student: PageWatch;

  beforeAll(async () => {
    server = await startTestServer({
      groups: {
        [GROUP]: {
          users: { teacher: { password: 'pw', permissions: 'op' } },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'present' },
        },
      },
      staticDir,
    });
    browser = await launchBrowser();
    for (let i = 0; i < 2; i++) ctx.push(await newLoopbackContext(browser, server.url));
    teacher = new PageWatch(await ctx[0]!.context.newPage(), 'teacher');
    student = new PageWatch(await ctx[1]!.context.newPage(), 'student');
  });

  afterAll(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  /** Runs a step; on failure saves screenshots and attaches both pages' consoles to the error. */
  async function step(name: string, body: () => Promise<void>): Promise<void> {
    try {
      await body();
      teacher.assertNoErrors();
      student.assertNoErrors();
      for (const c of ctx) expect(c.blocked, 'requests that tried to leave loopback').toEqual([]);
      for (const w of [teacher, student]) {
        expect(w.httpErrors.filter((e) => !EXPECTED_HTTP_ERRORS.test(e)), `${w.name}: failed requests`).toEqual([]);
      }
    } catch (err) {
      for (const w of [teacher, student]) await saveScreenshot(w.page, `galene-client-${name}-FAILED-${w.name}`);
      (err as Error).message += `\n${teacher.dump()}\n${student.dump()}`;
      throw err;
    }
    for (const w of [teacher, student]) {
      if (w.page.url() !== 'about:blank') await saveScreenshot(w.page, `galene-client-${name}-${w.name}`);
    }
  }

  it('serves the client and the group status', async () => {
    await step('page', async () => {
      const status = teacher.page.waitForResponse((r) => r.url().endsWith(`/group/${GROUP}/.status`), {
        timeout: STEP_MS,
      });
      const res = await teacher.page.goto(`${server.url}/group/${GROUP}/`, { timeout: STEP_MS });
      expect(res?.status()).toBe(200);
      // galene.js fetches .status first and takes the group name and the WebSocket endpoint from it.
      const st = await status;
      expect(st.status()).toBe(200);
      expect(await st.json()).toMatchObject({ name: GROUP, endpoint: `${server.url.replace(/^http/, 'ws')}/ws` });
      await expect(teacher.page.title()).resolves.toMatch(/Galène|Lecture/i);
      await teacher.page.locator('#login-container').waitFor({ state: 'visible', timeout: STEP_MS });
    });
  });

  it('the teacher joins with camera and microphone and sees its own preview', async () => {
    await step('teacher', async () => {
      await login(teacher.page, 'teacher', 'pw', 'both');
      // Joined: the login form goes away and the up stream connects.
      await teacher.page.locator('#login-container').waitFor({ state: 'hidden', timeout: STEP_MS });
      const up = await waitUntil(
        "the teacher's camera stream to connect",
        () => clientStreams(teacher.page, 'up'),
        (s) => s.length === 1 && s[0]!.state.startsWith('connected'),
      );
      expect(up[0]!.label).toBe('camera');

      const preview = await waitUntil(
        "the teacher's own preview to play",
        () => probeVideo(teacher.page, `media-${up[0]!.localId}`, 500),
        (p) => p.videoWidth > 0 && p.framesAfter > p.framesBefore,
      );
      expect(preview.found).toBe(true);
      expect(await teacher.page.locator(`#peers #peer-${up[0]!.localId} video`).count()).toBe(1);
    });
  });

  it("a student without a camera sees the teacher's video playing", async () => {
    await step('student', async () => {
      await student.page.goto(`${server.url}/group/${GROUP}/`, { timeout: STEP_MS });
      await login(student.page, 'student', '', 'off');
      await student.page.locator('#login-container').waitFor({ state: 'hidden', timeout: STEP_MS });

      const down = await waitUntil(
        "the teacher's stream to reach the student",
        () => clientStreams(student.page, 'down'),
        (s) => s.some((c) => c.username === 'teacher' && c.state.startsWith('connected')),
      );
      const stream = down.find((c) => c.username === 'teacher')!;
      expect(stream.label).toBe('camera');
      expect(await clientStreams(student.page, 'up')).toEqual([]);

      // The tile is labelled with the publisher's name.
      await expect(student.page.locator(`#label-${stream.localId}`).textContent()).resolves.toBe('teacher');

      const mediaId = `media-${stream.localId}`;
      await waitUntil(
        'the video to have a size',
        () => probeVideo(student.page, mediaId, 0),
        (p) => p.videoWidth > 0,
      );
      // Frames keep coming over ~2 s, not one frozen keyframe.
      const p = await probeVideo(student.page, mediaId, 2_000);
      expect(p.found).toBe(true);
      expect(p.paused).toBe(false);
      expect(p.videoWidth).toBeGreaterThan(0);
      expect(p.videoHeight).toBeGreaterThan(0);
      expect(p.framesAfter - p.framesBefore, JSON.stringify(p)).toBeGreaterThanOrEqual(10);
      expect(p.callbacks, JSON.stringify(p)).toBeGreaterThanOrEqual(10);
    });
  });
});
