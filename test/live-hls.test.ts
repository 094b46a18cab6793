/**
 * Live HLS end to end: a werift peer publishes over WHIP, the server enqueues a live-hls job, the job's
 * werift WHEP peer feeds the real ffmpeg, and the playlists are served under /group/<g>/.hls/.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_DEFAULTS } from '../src/egress/live/liveArgs.js';
import { decodeFile } from './helpers/decode.js';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, ffmpegPath, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { sleep, waitUntil } from './helpers/wait.js';
import { signHs256 } from './helpers/jwt.js';

const hsKey = randomBytes(32);
const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

let server: TestServer;
let stun: LoopbackStun;
let media: TestMedia;
const cleanups: (() => Promise<unknown> | void)[] = [];
const student = { Authorization: `Basic ${Buffer.from('student:st-pw').toString('base64')}` };

function url(p: string): string {
  return new URL(p, server.url).toString();
}

function presenterToken(): string {
  const now = Math.floor(Date.now() / 1000);
  return jwt({ sub: 'prof', aud: `${server.url}/group/lecture/`, permissions: ['present'], iat: now, exp: now + 600 });
}

async function publish(): Promise<{ peer: PublisherPeer; location: string; stop: () => Promise<void> }> {
  const peer = createPublisherPeer({ stunPort: stun.port });
  const token = presenterToken(); // DELETE needs the very token the session was created with
  const res = await fetch(url('/group/lecture/.whip'), {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
    body: await peer.createOffer(),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`WHIP POST: ${res.status} ${text}`);
  await peer.setAnswer(text);
  const location = res.headers.get('location')!;
  const offV = media.onVideo((rtp) => peer.sendVideo(rtp));
  const offA = media.onAudio((rtp) => peer.sendAudio(rtp));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    offV();
    offA();
    const res = await fetch(url(location), { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    await peer.close();
  };
  cleanups.push(stop);
  return { peer, location, stop };
}

async function playlist(name: string, headers: Record<string, string> = student): Promise<string | undefined> {
  const res = await fetch(url(`/group/lecture/.hls/${name}`), { headers });
  if (res.status === 404) return undefined;
  expect(res.status).toBe(200);
  return res.text();
}

const segmentsOf = (text: string | undefined) => (text ?? '').split('\n').filter((l) => /^[^#].*\.m4s/.test(l));

beforeAll(async () => {
  stun = await startLoopbackStun();
  server = await startTestServer({
    groups: {
      // A lecture (only prof presents): live HLS is on by default. Not public: no anonymous access.
      lecture: {
        authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
        users: { prof: { password: 'prof-pw', permissions: 'present' }, student: { password: 'st-pw', permissions: 'observe' } },
      },
    },
  });
  fs.writeFileSync(path.join(server.dir, 'data', 'ice-servers.json'), JSON.stringify([{ urls: `stun:127.0.0.1:${stun.port}` }]));
  media = await startTestMedia({ gop: 60 });
  await media.firstVideo();
}, 30_000);

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await media?.close();
  await server?.stop();
  await stun?.close();
}, 30_000);

describe('live HLS', () => {
  it('a lecture gets a live playlist of short segments; its segments decode; access follows the group', async () => {
    await publish();
    // How soon the first segment appears depends on how busy this machine is (bench/hls.ts measures it); what
    // the server guarantees is segments of about LIVE_DEFAULTS.segmentSeconds, which bound how far behind a player is.
    const live = await waitUntil('a segment in the live playlist', () => playlist('index.m3u8'), (p) => segmentsOf(p).length > 0, 60_000);
    expect(Number(/#EXT-X-TARGETDURATION:(\d+)/.exec(live!)?.[1])).toBeLessThanOrEqual(2 * LIVE_DEFAULTS.segmentSeconds);
    expect(live).toMatch(/^#EXTM3U\n/);
    expect(live).toContain('#EXT-X-MAP:URI=');
    expect(live).not.toContain('#EXT-X-ENDLIST');

    // Three segments (init + media) decode with ffmpeg.
    while (segmentsOf(await playlist('event.m3u8')).length < 3) await sleep(200);
    const event = (await playlist('event.m3u8'))!;
    expect(event).toContain('#EXT-X-PLAYLIST-TYPE:EVENT');
    const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(event)![1]!;
    const parts = [init, ...segmentsOf(event).slice(0, 3)];
    const bufs: Buffer[] = [];
    for (const p of parts) {
      const res = await fetch(url(`/group/lecture/.hls/${p}`), { headers: student });
      expect(res.status).toBe(200);
      if (p.endsWith('.m4s')) expect(res.headers.get('cache-control')).toMatch(/immutable/);
      bufs.push(Buffer.from(await res.arrayBuffer()));
    }
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-live-'));
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    const file = path.join(tmp, 'three.mp4');
    fs.writeFileSync(file, Buffer.concat(bufs));
    const decoded = await decodeFile(file);
    expect(decoded.errors).toEqual([]);
    expect(decoded.code).toBe(0);
    expect(decoded.videoFrames).toBeGreaterThanOrEqual(60); // 3 x 1 s at 30 fps, give or take a frame
    expect(decoded.seconds).toBeGreaterThan(2.5);

    // Access: anonymous and wrong passwords get 401; a viewer's token works, and is carried to the segments.
    const anon = await fetch(url('/group/lecture/.hls/index.m3u8'));
    expect(anon.status).toBe(401);
    expect(anon.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(await anon.text()).toMatch(/not authorised/);
    const wrong = await fetch(url('/group/lecture/.hls/index.m3u8'), {
      headers: { Authorization: `Basic ${Buffer.from('student:nope').toString('base64')}` },
    });
    expect(wrong.status).toBe(401);
    expect((await fetch(url(`/group/lecture/.hls/${init}`))).status).toBe(401);
    const now = Math.floor(Date.now() / 1000);
    const viewer = jwt({ sub: 'ann', aud: `${server.url}/group/lecture/`, permissions: [], iat: now, exp: now + 600 });
    const withToken = await fetch(url(`/group/lecture/.hls/index.m3u8?token=${viewer}`));
    expect(withToken.status).toBe(200);
    expect(withToken.headers.get('cache-control')).toBe('no-cache');
    const tokenList = await withToken.text();
    const seg = segmentsOf(tokenList).at(-1)!;
    expect(seg).toContain(`?token=${viewer}`);
    expect((await fetch(url(`/group/lecture/.hls/${seg}`))).status).toBe(200);
    // Path safety.
    expect((await fetch(url('/group/lecture/.hls/..%2f..%2fdata%2fconfig.json'), { headers: student })).status).toBe(404);
    expect((await fetch(url('/group/lecture/.hls/index.sdp'), { headers: student })).status).toBe(404);
  }, 60_000);

  it('restarts a dead ffmpeg: the stream goes on after a discontinuity', async () => {
    // A steady stream first (a run that has just been replaced, e.g. audio joining late, is not the one to kill).
    const steady = segmentsOf(await playlist('event.m3u8')).length;
    for (let end = Date.now() + 20_000; segmentsOf(await playlist('event.m3u8')).length < steady + 2 && Date.now() < end; ) {
      await sleep(250);
    }
    // The live job's ffmpeg is a child of this process (the server runs in it): the one reading an .sdp file.
    const children = fs
      .readdirSync(`/proc/${process.pid}/task`)
      .flatMap((t) => fs.readFileSync(`/proc/${process.pid}/task/${t}/children`, 'utf8').trim().split(/\s+/))
      .filter(Boolean)
      .map(Number);
    const live = children.filter((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('.sdp');
      } catch {
        return false;
      }
    });
    expect(live).toHaveLength(1);
    const before = segmentsOf(await playlist('event.m3u8')).length;
    process.kill(live[0]!, 'SIGKILL');
    const deadline = Date.now() + 40_000;
    let event = '';
    while (Date.now() < deadline) {
      event = (await playlist('event.m3u8')) ?? '';
      if (event.includes('#EXT-X-DISCONTINUITY') && segmentsOf(event).length >= before + 3) break;
      await sleep(250);
    }
    expect(event).toContain('#EXT-X-DISCONTINUITY');
    expect(event).not.toContain('#EXT-X-ENDLIST');
    const maps = [...event.matchAll(/#EXT-X-MAP:URI="([^"]+)"/g)].map((m) => m[1]);
    expect(maps).toHaveLength(2); // the new run has its own init segment
    expect(segmentsOf(event).length).toBeGreaterThanOrEqual(before + 3);
  }, 90_000);

  it('survives the speaker reconnecting, then ends with ENDLIST after the lecture ends', async () => {
    const before = segmentsOf(await playlist('event.m3u8')).length;
    expect(before).toBeGreaterThan(0);
    // The publisher from the first test leaves; a new one publishes 2 s later.
    for (const c of cleanups.splice(0)) await c();
    let sawEnd = false;
    const watch = setInterval(() => {
      void playlist('index.m3u8').then((t) => (sawEnd ||= (t ?? '').includes('#EXT-X-ENDLIST')), () => undefined);
    }, 250);
    try {
      await sleep(2000);
      const again = await publish();
      const deadline = Date.now() + 20_000;
      while (segmentsOf(await playlist('event.m3u8')).length < before + 5 && Date.now() < deadline) await sleep(250);
      expect(segmentsOf(await playlist('event.m3u8')).length).toBeGreaterThanOrEqual(before + 5);
      expect(sawEnd).toBe(false);
      const live = (await playlist('index.m3u8'))!;
      expect(live).not.toContain('#EXT-X-ENDLIST');

      // The lecture ends: ~10 s later the job ends and both playlists are closed.
      await again.stop();
    } finally {
      clearInterval(watch);
    }
    const endBy = Date.now() + 30_000;
    let live = '';
    while (Date.now() < endBy) {
      live = (await playlist('index.m3u8')) ?? '';
      if (live.includes('#EXT-X-ENDLIST')) break;
      await sleep(500);
    }
    expect(live.trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
    expect(((await playlist('event.m3u8')) ?? '').trimEnd().endsWith('#EXT-X-ENDLIST')).toBe(true);
  }, 90_000);

  it('with a screen share and a camera, the stream shows the screen large and the camera inset; it follows the screen stopping', async () => {
    // A new lecture (the previous test ended the last one): a red screen share, a blue camera with the audio.
    const red = await startTestMedia({ colour: 'red', width: 640, height: 360, audio: false, gop: 60 });
    const blue = await startTestMedia({ colour: 'blue', width: 320, height: 240, gop: 60 });
    cleanups.push(() => red.close(), () => blue.close());
    const prof = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'prof', password: 'prof-pw', stunPort: stun.port });
    cleanups.push(() => prof.ws.close());
    const camera = createPublisherPeer({ stunPort: stun.port });
    const screen = createPublisherPeer({ stunPort: stun.port, audio: false });
    cleanups.push(() => camera.close(), () => screen.close());
    await prof.publish('camera', camera);
    const screenId = await prof.publish('screenshare', screen);
    cleanups.push(
      blue.onVideo((rtp) => camera.sendVideo(rtp)),
      blue.onAudio((rtp) => camera.sendAudio(rtp)),
      red.onVideo((rtp) => screen.sendVideo(rtp)),
    );

    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-inset-'));
    cleanups.push(() => fs.rmSync(tmp, { recursive: true, force: true }));
    // The newest segment of the playlist with its run's init segment, as one file.
    const newest = async (): Promise<string | undefined> => {
      const event = await playlist('event.m3u8');
      if (!event) return undefined;
      const lastRun = event.slice(event.lastIndexOf('#EXT-X-MAP:URI='));
      const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(lastRun)?.[1];
      const seg = segmentsOf(lastRun).at(-1);
      if (!init || !seg) return undefined;
      const bufs = [];
      for (const p of [init, seg]) bufs.push(Buffer.from(await (await fetch(url(`/group/lecture/.hls/${p}`), { headers: student })).arrayBuffer()));
      const file = path.join(tmp, `${seg.replace(/\W/g, '_')}.mp4`);
      fs.writeFileSync(file, Buffer.concat(bufs));
      return file;
    };
    // The composite's layout at 1280x720: a 320-wide inset 16 px from the bottom-right corner
    // (x 944..1264, y 464..704 for a 4:3 camera); its middle, and a point of the screen well away from it.
    const insetMiddle = [1104 / 1280, 584 / 720] as const;
    const screenPoint = [400 / 1280, 200 / 720] as const;

    const W = 320;
    const H = 180;
    const colourAt = (frame: Buffer, [x, y]: readonly [number, number]): string => {
      if (frame.length < W * H * 3) return 'no frame';
      const i = (Math.round(y * H) * W + Math.round(x * W)) * 3;
      const [r, g, b] = [frame[i]!, frame[i + 1]!, frame[i + 2]!];
      if (r > 170 && g < 90 && b < 90) return 'red';
      if (b > 170 && r < 90 && g < 90) return 'blue';
      return `rgb(${r},${g},${b})`;
    };
    // The file's streams, as ffmpeg lists them, and its last video frame scaled to W x H (RGB).
    const look = (file: string) =>
      new Promise<{ video: number; audio: number; screen: string; inset: string }>((resolve, reject) => {
        const child = spawn(ffmpegPath(), ['-hide_banner', '-nostdin', '-i', file, '-map', '0:v', '-vf', `scale=${W}:${H}`, '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (c: Buffer) => out.push(c));
        child.stderr.on('data', (c: Buffer) => (err += c.toString()));
        child.once('error', reject);
        child.once('close', () => {
          const raw = Buffer.concat(out);
          const frame = raw.subarray(Math.max(0, raw.length - W * H * 3));
          const inputPart = err.split(/^Stream mapping:/m)[0]!;
          resolve({
            video: (inputPart.match(/Stream #0:\d+.*: Video:/g) ?? []).length,
            audio: (inputPart.match(/Stream #0:\d+.*: Audio:/g) ?? []).length,
            screen: colourAt(frame, screenPoint),
            inset: colourAt(frame, insetMiddle),
          });
        });
      });
    const bothShown = await waitUntil(
      'a live segment showing the screen with the camera inset',
      async () => {
        const f = await newest();
        return f ? look(f) : undefined;
      },
      (l) => l?.screen === 'red' && l.inset === 'blue',
      60_000,
    );
    expect(bothShown!.video).toBe(1); // one video stream carries both sources
    expect(bothShown!.audio).toBe(1);
    const before = (await playlist('event.m3u8'))!;
    expect(before).not.toContain('#EXT-X-ENDLIST');

    // The screen share stops: the camera alone fills the frame, in the same playlist after a discontinuity.
    prof.unpublish(screenId);
    const cameraOnly = await waitUntil(
      'a live segment showing the camera alone',
      async () => {
        const f = await newest();
        return f ? look(f) : undefined;
      },
      (l) => l?.screen === 'blue' && l.inset === 'blue',
      40_000,
    );
    expect(cameraOnly!.video).toBe(1);
    const after = (await playlist('event.m3u8'))!;
    expect(segmentsOf(after).slice(0, segmentsOf(before).length)).toEqual(segmentsOf(before)); // the earlier runs are still listed
    expect(after).toContain('#EXT-X-DISCONTINUITY');
    expect(after).not.toContain('#EXT-X-ENDLIST');
    const decoded = await decodeFile((await newest())!);
    expect(decoded.errors).toEqual([]);
  }, 120_000);
});
