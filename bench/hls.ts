/**
 * npm run bench:hls [-- --seconds S]
 *
 * Live HLS latency and cost, with a real server in this process (in-process job queue, as `npm start`):
 *  - a werift WHIP publisher sends VP8 from an ffmpeg source that is black, and turns bright for 4 s every
 *    8 s (source time 4 + 8k; the brightness says k mod 4). We note the wall time we hand the first white frame's packet to the publisher.
 *  - the live job transcodes it (WHEP -> ffmpeg -> 1 s fMP4 segments). We poll index.m3u8 every 50 ms; each
 *    new segment is fetched with its init segment and decoded (signalstats YAVG per frame). The segment
 *    holding the first white frame after a black one marks that edge as *available*.
 *  - latency = availability time - send time, per edge ("glass to playlist"). A player adds its own hold-back
 *    on top (the client's hls.js is set to 1 s behind the live edge: + about 1 s).
 *  - glass to player: a headless Chromium viewer on the group page switches to HLS (the client's hls.js
 *    settings) and samples each painted frame's brightness (requestVideoFrameCallback + a canvas); the wall
 *    time the first white frame of an edge is painted, minus its send time.
 *  - CPU of the live transcode: the job's ffmpeg, from /proc, over the steady part of the run.
 * Prints JSON on stdout; progress on stderr. Loopback only; stops by itself (hard stop after 5 minutes).
 */
import { spawn, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { buildClient } from '../src/web/client/build.js';
import { launchBrowser, newLoopbackContext } from '../test/helpers/browser.js';
import { startLoopbackStun } from '../test/helpers/loopbackStun.js';
import { createPublisherPeer, ffmpegPath } from '../test/helpers/mediaSource.js';
import { startTestServer } from '../test/helpers/testServer.js';
import { killChildrenOnExit, track } from './children.js';
import { childPids, processCpuUs } from './procStats.js';
import { signHs256 } from '../test/helpers/jwt.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '60' } } });
const seconds = Number(values.seconds);
if (!(seconds >= 20 && seconds <= 240)) {
  console.error('hls: --seconds 20..240');
  process.exit(2);
}
const log = (msg: string) => process.stderr.write(`[hls ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const hardStop = killChildrenOnExit(300, log);
const PERIOD = 8;
const WHITE_AT = 4;
/** Edge k turns the picture to luma LEVEL0 + LEVEL_STEP * (k mod 4): the receiver tells edges apart even when
 *  the pipeline lags by more than a period. */
const LEVEL0 = 80;
const LEVEL_STEP = 50;
const levelOf = (y: number) => Math.round((y - LEVEL0) / LEVEL_STEP);

const hsKey = randomBytes(32);
const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

/** Mean luma of each decoded video frame of `file`. */
function lumas(file: string): number[] {
  const out = execFileSync(ffmpegPath(), ['-hide_banner', '-v', 'error', '-i', file, '-vf', 'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-', '-f', 'null', '-'], {
    encoding: 'utf8',
  });
  return [...out.matchAll(/YAVG=([\d.]+)/g)].map((m) => Number(m[1]));
}

async function main(): Promise<void> {
  const stun = await startLoopbackStun();
  const server = await startTestServer({
    groups: {
      lecture: {
        authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
        users: { prof: { password: 'pw', permissions: 'present' }, viewer: { password: 'v', permissions: 'observe' } },
      },
    },
  });
  fs.writeFileSync(path.join(server.dir, 'data', 'ice-servers.json'), JSON.stringify([{ urls: `stun:127.0.0.1:${stun.port}` }]));
  await buildClient();
  const browser = await launchBrowser();
  const ctx = await newLoopbackContext(browser, server.url);
  const page = await ctx.context.newPage();
  const auth = { Authorization: `Basic ${Buffer.from('viewer:v').toString('base64')}` };
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-hls-'));

  // The flashing source: VP8 RTP to a loopback socket of ours, 640x360 at 30 fps, keyframe every 2 s.
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const src = track(
    spawn(ffmpegPath(), [
      '-hide_banner', '-loglevel', 'error', '-nostdin', '-re', '-f', 'lavfi',
      '-i', `color=c=black:s=640x360:r=30,geq=lum='if(gte(mod(T,${PERIOD}),${WHITE_AT}),${LEVEL0}+${LEVEL_STEP}*mod(floor(T/${PERIOD}),4),16)':cb=128:cr=128`,
      '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-threads', '1', '-b:v', '800k', '-g', '60',
      '-auto-alt-ref', '0', '-lag-in-frames', '0', '-error-resilient', '1', '-pix_fmt', 'yuv420p',
      '-payload_type', '96', '-ssrc', '287454020', '-rtpflags', 'skip_rtcp', '-f', 'rtp', `rtp://127.0.0.1:${sock.address().port}?pkt_size=1200`,
    ], { stdio: ['ignore', 'ignore', 'inherit'] }),
  );

  const peer = createPublisherPeer({ stunPort: stun.port, audio: false });
  const now0 = Math.floor(Date.now() / 1000);
  const token = jwt({ sub: 'prof', aud: `${server.url}/group/lecture/`, permissions: ['present'], iat: now0, exp: now0 + 900 });
  const res = await fetch(new URL('/group/lecture/.whip', server.url), {
    method: 'POST',
    headers: { 'Content-Type': 'application/sdp', Authorization: `Bearer ${token}` },
    body: await peer.createOffer(),
  });
  if (res.status !== 201) throw new Error(`WHIP: ${res.status} ${await res.text()}`);
  await peer.setAnswer(await res.text());
  const publishedAt = Date.now();

  // Send times of each black -> white edge (source time WHITE_AT + PERIOD * k), by RTP timestamp.
  const edgesSent: number[] = [];
  let ts0: number | undefined;
  sock.on('message', (msg) => {
    const ts = msg.readUInt32BE(4);
    ts0 ??= ts;
    const t = ((ts - ts0) >>> 0) / 90000;
    const k = edgesSent.length;
    if (t >= WHITE_AT + PERIOD * k) edgesSent.push(Date.now());
    peer.sendVideo(msg);
  });

  // A Chromium viewer in HLS mode (started once the playlist exists), sampling each painted frame's brightness.
  let playerStarted = false;
  const startPlayer = async () => {
    playerStarted = true;
    await page.goto(`${server.url}/group/lecture/`);
    await page.getByLabel('Username').fill('viewer');
    await page.getByLabel('Password').fill('v');
    await page.getByRole('button', { name: 'Join' }).click();
    await page.getByRole('button', { name: 'Switch to HLS' }).click();
    // A string, not a function: tsx would wrap the inner function in a helper the page does not have.
    await page.evaluate(`(() => {
      window.brightAt = [];
      const v = document.querySelector('video.hls-video');
      const c = document.createElement('canvas');
      c.width = c.height = 8;
      const g = c.getContext('2d', { willReadFrequently: true });
      let dark = false;
      let settle = 0;
      function onFrame() {
        g.drawImage(v, 0, 0, 8, 8);
        const d = g.getImageData(0, 0, 8, 8).data;
        let sum = 0;
        for (let i = 0; i < d.length; i += 4) sum += d[i];
        const y = (sum / 64) * 219 / 255 + 16;
        if (dark && y >= 55) { window.brightAt.push({ at: Date.now(), y }); settle = 5; }
        else if (settle > 0 && --settle === 0) window.brightAt[window.brightAt.length - 1].y = y;
        dark = y < 48;
        v.requestVideoFrameCallback(onFrame);
      }
      v.requestVideoFrameCallback(onFrame);
    })()`);
  };

  // Poll the live playlist; decode each new segment.
  const seen = new Set<string>();
  const inits = new Map<string, Buffer>();
  const edgesAvailable: { at: number; k4: number }[] = [];
  let lastLuma = 0;
  let settle = 0;
  let firstSegmentMs: number | undefined;
  let segments = 0;
  let ffmpegPid: number | undefined;
  let cpuStart: { us: number; at: number } | undefined;
  const deadline = publishedAt + seconds * 1000;
  while (Date.now() < deadline) {
    await sleep(50);
    if (ffmpegPid === undefined) {
      ffmpegPid = childPids(process.pid).find((p) => {
        try {
          return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('.sdp');
        } catch {
          return false;
        }
      });
    }
    const r = await fetch(new URL('/group/lecture/.hls/index.m3u8', server.url), { headers: auth });
    if (!r.ok) continue;
    const text = await r.text();
    if (!playerStarted && /\.m4s/.test(text)) await startPlayer();
    let map: string | undefined;
    for (const line of text.split('\n')) {
      const m = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
      if (m) map = m[1]!;
      if (line.startsWith('#') || !line.trim() || seen.has(line)) continue;
      seen.add(line);
      const at = Date.now();
      firstSegmentMs ??= at - publishedAt;
      segments++;
      if (segments === 4 && ffmpegPid !== undefined) cpuStart = { us: processCpuUs(ffmpegPid) ?? 0, at: performance.now() };
      const get = async (name: string) => Buffer.from(await (await fetch(new URL(`/group/lecture/.hls/${name}`, server.url), { headers: auth })).arrayBuffer());
      if (map && !inits.has(map)) inits.set(map, await get(map));
      const file = path.join(tmp, 'seg.mp4');
      fs.writeFileSync(file, Buffer.concat([inits.get(map!)!, await get(line)]));
      for (const y of lumas(file)) {
        if (lastLuma < 48 && y >= 55) {
          edgesAvailable.push({ at, k4: levelOf(y) });
          settle = 5;
        } else if (settle > 0 && --settle === 0) edgesAvailable.at(-1)!.k4 = levelOf(y); // the level once settled
        lastLuma = y;
      }
    }
  }
  const cpu =
    ffmpegPid !== undefined && cpuStart
      ? ((processCpuUs(ffmpegPid) ?? cpuStart.us) - cpuStart.us) / ((performance.now() - cpuStart.at) * 1000)
      : undefined;

  // Pair each available (or painted) edge with the latest edge sent before it.
  const pair = (seen: { at: number; k4: number }[]) =>
    seen.flatMap(({ at, k4 }) => {
      const sent = edgesSent.map((s, k) => ({ s, k })).filter((e) => e.s <= at && e.k % 4 === k4);
      return sent.length ? [at - sent.at(-1)!.s] : [];
    });
  const latencies = pair(edgesAvailable);
  const sorted = [...latencies].sort((a, b) => a - b);
  const brightAt = await page.evaluate(() => (window as unknown as { brightAt?: { at: number; y: number }[] }).brightAt ?? []);
  const painted = pair(brightAt.map(({ at, y }) => ({ at, k4: levelOf(y) })));
  const paintedSorted = [...painted].sort((a, b) => a - b);
  const hlsJsLatency = await page.evaluate(() => {
    const hls = (window as unknown as { lectern: { hls: { player?: { latency: number } } } }).lectern.hls;
    return hls.player?.latency;
  });
  await browser.close();
  const result = {
    bench: 'hls',
    when: new Date().toISOString(),
    cpus: os.cpus().length,
    loadavg: os.loadavg().map((x) => round(x, 2)),
    seconds,
    segmentSeconds: 1,
    output: '1280x720 30 fps H.264 (libx264 veryfast, zerolatency) + AAC, fMP4',
    firstSegmentAfterPublishMs: firstSegmentMs,
    edges: latencies.length,
    glassToPlaylistMs: latencies,
    glassToPlaylistMedianMs: sorted.length ? sorted[Math.floor(sorted.length / 2)] : undefined,
    glassToPlaylistMaxMs: sorted.at(-1),
    playerHoldBackSeconds: 1,
    glassToPlayerMs: painted,
    glassToPlayerMedianMs: paintedSorted.length ? paintedSorted[Math.floor(paintedSorted.length / 2)] : undefined,
    hlsJsLatencySeconds: typeof hlsJsLatency === 'number' ? round(hlsJsLatency, 2) : undefined,
    liveTranscodeCpuCores: cpu === undefined ? undefined : round(cpu),
    goalMs: 3000,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  await fetch(new URL(res.headers.get('location')!, server.url), { method: 'DELETE', headers: { Authorization: `Bearer ${token}` } }).catch(() => undefined);
  await peer.close();
  src.kill('SIGKILL');
  sock.close();
  await server.stop();
  await stun.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  clearTimeout(hardStop);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
