/**
 * npm run bench:recording [-- --streams N --seconds S]
 *
 * What recording costs, with the server in its own process (in-process job queue, as `npm start`):
 *  - server CPU while N werift publishers send real VP8 + Opus (ffmpeg test pattern, 30 fps, about 1 Mbit/s),
 *    first without recording (the floor: receiving the same packets), then while the group is recorded;
 *    the difference is the recorder's cost, reported per stream as a fraction of one core;
 *  - the time from unrecord to each composite MP4 (finalize -> composite run on one ffmpeg at a time), as a
 *    fraction of the recording's length.
 * Prints JSON on stdout; progress on stderr. Loopback only; stops by itself (hard stop after 10 minutes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { startLoopbackStun } from '../test/helpers/loopbackStun.js';
import { MediaClient } from '../test/helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer } from '../test/helpers/mediaSource.js';
import { killChildrenOnExit } from './children.js';
import { processCpuUs } from './procStats.js';
import { startServerProcess, stopServerProcess } from './serverProcess.js';

const { values } = parseArgs({
  options: { streams: { type: 'string', default: '4' }, seconds: { type: 'string', default: '15' } },
});
const streams = Number(values.streams);
const seconds = Number(values.seconds);
if (!(streams >= 1 && streams <= 16 && seconds >= 3 && seconds <= 120)) {
  console.error('recording: --streams 1..16, --seconds 3..120');
  process.exit(2);
}

const log = (msg: string) => process.stderr.write(`[recording ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;
const hardStop = killChildrenOnExit(600, log);

/** CPU of `pid` over `ms`, as a fraction of one core. */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const a = processCpuUs(pid)!;
  const t = performance.now();
  await sleep(ms);
  return (processCpuUs(pid)! - a) / ((performance.now() - t) * 1000);
}

function dirBytes(dir: string): number {
  if (!fs.existsSync(dir)) return 0;
  return fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
}

async function main(): Promise<void> {
  const stun = await startLoopbackStun();
  const media = await startTestMedia({ gop: 60 });
  const server = await startServerProcess('lecture', {
    'allow-recording': true,
    users: { op: { password: 'pw', permissions: 'op' } },
    'wildcard-user': { password: { type: 'wildcard' }, permissions: 'present' },
    hls: false,
  });
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const pubs: PublisherPeer[] = [];
  const clients: MediaClient[] = [];
  try {
    log(`${streams} publishers`);
    for (let i = 0; i < streams; i++) {
      const c = await MediaClient.join({ url, group: 'lecture', username: `speaker${i}`, stunPort: stun.port });
      const pub = createPublisherPeer({ stunPort: stun.port });
      media.onVideo((rtp) => pub.sendVideo(rtp));
      media.onAudio((rtp) => pub.sendAudio(rtp));
      await c.publish('camera', pub);
      await pub.connected();
      clients.push(c);
      pubs.push(pub);
    }
    const op = await MediaClient.join({ url, group: 'lecture', username: 'op', password: 'pw', stunPort: stun.port });
    clients.push(op);
    await sleep(2000);

    log(`receiving only, ${seconds} s`);
    const ingestCpu = await cpuOver(server.pid, seconds * 1000);

    const recording = op.ws.next((m) => m.type === 'user' && m.kind === 'add' && m.username === 'RECORDING');
    op.ws.send({ type: 'groupaction', kind: 'record', source: op.id, username: 'op' });
    await recording;
    const recordStart = performance.now();
    await sleep(1000);
    log(`recording, ${seconds} s`);
    const recordCpu = await cpuOver(server.pid, seconds * 1000);
    const recDir = path.join(server.dir, 'recordings', 'lecture');
    const bytes = dirBytes(recDir);

    const stopped = op.ws.next((m) => m.type === 'user' && m.kind === 'delete' && m.username === 'RECORDING', 30_000);
    op.ws.send({ type: 'groupaction', kind: 'unrecord', source: op.id, username: 'op' });
    const unrecordAt = performance.now();
    await stopped;
    const recordedSeconds = (unrecordAt - recordStart) / 1000;

    log('waiting for the composites');
    const readyAfter: number[] = [];
    const deadline = unrecordAt + 240_000;
    while (readyAfter.length < streams && performance.now() < deadline) {
      const mp4s = fs.existsSync(recDir) ? fs.readdirSync(recDir).filter((f) => f.endsWith('.mp4') && !f.startsWith('.')) : [];
      while (readyAfter.length < mp4s.length) readyAfter.push((performance.now() - unrecordAt) / 1000);
      await sleep(100);
    }

    if (readyAfter.length < streams) log(`only ${readyAfter.length} composites; the folder holds ${fs.readdirSync(recDir).join(', ')}`);
    const out = {
      bench: 'recording',
      date: new Date().toISOString(),
      streams,
      recordedSeconds: round(recordedSeconds, 2),
      serverCpu: {
        receivingOnly: round(ingestCpu),
        recording: round(recordCpu),
        recorderPerStream: round((recordCpu - ingestCpu) / streams, 4),
      },
      writtenKbitPerStream: round((bytes * 8) / 1000 / (seconds + 1) / streams, 0),
      composite: {
        ready: readyAfter.length,
        secondsAfterUnrecord: readyAfter.map((s) => round(s, 1)),
        fractionOfLength: readyAfter.map((s) => round(s / recordedSeconds, 2)),
      },
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await Promise.all(pubs.map((p) => p.close().catch(() => undefined)));
    await media.close();
    await stopServerProcess(server);
    await stun.close();
    clearTimeout(hardStop);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    log(`failed: ${err instanceof Error ? err.stack : String(err)}`);
    process.exit(1);
  },
);
