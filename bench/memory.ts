/**
 * Server memory per viewer: one publisher (the bundled ffmpeg's VP8 + Opus), a Lectern server process started
 * with `--expose-gc` and the bench-only preload bench/memProbe.mjs, and N lean viewers (bench/leanViewer.ts) in
 * forked viewer processes.
 *
 *   npx tsx bench/memory.ts [--n 50] [--batches 2] [--per-process 25] [--settle 5] [--snapshot <prefix>]
 *                           [--server-import <module>] [--timeout 300]
 *
 * The server's `process.memoryUsage()` is read after two full GCs (SIGUSR2 to the preload) with the publisher
 * alone, then after each batch of N more viewers joined, connected and had video (they stay). One JSON
 * document on stdout: the readings and, per batch, the growth per viewer in KB (heapUsed, external,
 * arrayBuffers, rss). The first batch also pays one-time costs (code compiled for the first joins, lazily
 * loaded modules); later batches are the marginal cost of a viewer. `--snapshot <prefix>` also writes
 * `<prefix>-<viewers>.heapsnapshot` at each reading (compare two with bench/heapDiff.ts); RSS then includes
 * the snapshot's own memory. `--server-import <module>` loads one more module in the server first (node
 * --import), e.g. a throwaway patch, to measure a change before making it.
 * Loopback only; every child is killed on exit or timeout.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { failureReasons, startPublishing, startViewerFleet } from '../test/helpers/burstRig.js';
import { killChildrenOnExit, runMain } from './children.js';
import { startServerProcess, stopServerProcess, type ServerProc } from './serverProcess.js';

const GROUP = 'bench';
const GROUP_DESCRIPTION = {
  users: { speaker: { password: 'pw', permissions: 'op' } },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
  hls: false,
};
const PROBE = path.join(path.dirname(fileURLToPath(import.meta.url)), 'memProbe.mjs');

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '50' },
    batches: { type: 'string', default: '2' },
    'per-process': { type: 'string', default: '25' },
    settle: { type: 'string', default: '5' },
    snapshot: { type: 'string' },
    'server-import': { type: 'string' },
    timeout: { type: 'string', default: '300' },
  },
});
const n = Number(args.n);
const batches = Number(args.batches);
const perProcess = Number(args['per-process']);
const settleMs = Number(args.settle) * 1000;
const timeoutSeconds = Number(args.timeout);
if (!(Number.isInteger(n) && n >= 1) || !(Number.isInteger(batches) && batches >= 1) || !(perProcess >= 1) || !(settleMs >= 0) || !(timeoutSeconds > 0)) {
  console.error('memory: bad arguments (see the header of bench/memory.ts)');
  process.exit(2);
}

const log = (msg: string) => process.stderr.write(`[memory ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const hardStop = killChildrenOnExit(timeoutSeconds, log);

interface Reading {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
}

/** The server's memory after two full GCs (and a heap snapshot first when `snapshot` is given). */
async function probe(server: ServerProc, snapshot?: string): Promise<Reading> {
  const base = path.join(os.tmpdir(), `lectern-memprobe-${server.pid}`);
  fs.rmSync(`${base}.json`, { force: true });
  if (snapshot) fs.writeFileSync(`${base}.snapshot`, path.resolve(snapshot));
  server.child.kill('SIGUSR2');
  const end = Date.now() + 120_000;
  for (;;) {
    try {
      const r = JSON.parse(fs.readFileSync(`${base}.json`, 'utf8')) as Reading & { gc: boolean };
      fs.rmSync(`${base}.json`, { force: true });
      if (!r.gc) throw new Error('the server has no global.gc (--expose-gc)');
      return { rss: r.rss, heapTotal: r.heapTotal, heapUsed: r.heapUsed, external: r.external, arrayBuffers: r.arrayBuffers };
    } catch (err) {
      if (!(err instanceof Error && 'code' in err && err.code === 'ENOENT')) throw err;
      if (Date.now() > end) throw new Error('no memory reading from the server within 120 s');
      await sleep(200);
    }
  }
}

const kb = (bytes: number) => Math.round(bytes / 1024);

async function main(): Promise<void> {
  const server = await startServerProcess(GROUP, GROUP_DESCRIPTION, [], [
    '--expose-gc',
    '--import', PROBE,
    ...(args['server-import'] ? ['--import', path.resolve(args['server-import'])] : []),
  ]);
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  const publishing = await startPublishing({ wsUrl, group: GROUP, username: 'speaker', password: 'pw' });
  const fleet = await startViewerFleet({
    wsUrl,
    group: GROUP,
    processes: Math.max(1, Math.ceil((n * batches) / perProcess)),
    joinTimeoutMs: 60_000,
  });
  try {
    const snapshot = (viewers: number) => (args.snapshot ? `${args.snapshot}-${viewers}.heapsnapshot` : undefined);
    await sleep(settleMs);
    const readings = [{ viewers: 0, withVideo: 0, ...(await probe(server, snapshot(0))) }];
    log(`publisher only: heapUsed ${kb(readings[0]!.heapUsed)} KB, rss ${kb(readings[0]!.rss)} KB`);
    const failures: Record<string, number>[] = [];
    for (let b = 0; b < batches; b++) {
      await fleet.open(b * n, n);
      const timings = await fleet.join(b * n, n);
      failures.push(failureReasons(timings));
      const withVideo = readings[b]!.withVideo + timings.filter((t) => t.ok).length;
      await sleep(settleMs);
      const r = { viewers: (b + 1) * n, withVideo, ...(await probe(server, snapshot((b + 1) * n))) };
      readings.push(r);
      log(`${r.viewers} viewers (${withVideo} with video): heapUsed ${kb(r.heapUsed)} KB, rss ${kb(r.rss)} KB`);
    }
    const growth = (k: keyof Reading, b: number) => Math.round(((readings[b + 1]![k] - readings[b]![k]) / 1024 / n) * 10) / 10;
    const out = {
      benchmark: 'memory',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, node: process.versions.node },
      config: { n, batches, viewersPerProcess: perProcess, settleSeconds: settleMs / 1000, snapshot: args.snapshot ?? null },
      failures,
      /** Bytes, after two full GCs. */
      readings,
      /** KB per viewer added, for each batch (from the reading before it). */
      kbPerViewer: readings.slice(1).map((r, b) => ({
        viewers: r.viewers,
        heapUsed: growth('heapUsed', b),
        external: growth('external', b),
        arrayBuffers: growth('arrayBuffers', b),
        rss: growth('rss', b),
      })),
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  } finally {
    await fleet.close();
    await publishing.close();
    await stopServerProcess(server);
  }
}

runMain(main, hardStop, log);
