/**
 * Join time in a burst: one publisher (the bundled ffmpeg's VP8 + Opus), a Lectern server process, and N
 * viewers (bench/leanViewer.ts, in forked viewer processes) that all send `join` at the same moment.
 *
 *   npx tsx bench/burst.ts [--n 100] [--repeat 1] [--per-process 25] [--viewer-nice 0] [--join-timeout 60]
 *                          [--cpu-prof <dir>] [--timeout 600]
 *
 * One JSON document on stdout, progress on stderr. Loopback only; every child is killed on exit or timeout.
 * The WebSockets are opened (protocol handshake done) first, then every viewer sends `join` at once.
 * Per burst (a fresh server each time): milliseconds from each viewer's `join` (sent once its WebSocket is
 * open and the protocol handshake done) to its `joined`, the offer,
 * its answer, its PeerConnection `connected` (ICE + DTLS) and its first video packet, as p50/p95/max; how
 * many failed and why; the server's CPU over the burst per viewer.
 * `--cpu-prof <dir>` runs the server under `node --cpu-prof`: <dir>/run-<k>/ gets one .cpuprofile per thread (the
 * largest is the main thread), written when the server stops.
 */
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { failureReasons, percentile, startPublishing, startViewerFleet } from '../test/helpers/burstRig.js';
import { killChildrenOnExit, runMain } from './children.js';
import type { JoinTiming } from './fanoutProtocol.js';
import { machineJiffies, processCpuUs } from './procStats.js';
import { startServerProcess, stopServerProcess } from './serverProcess.js';

const GROUP = 'bench';
const GROUP_DESCRIPTION = {
  users: { speaker: { password: 'pw', permissions: 'op' } },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
  // No live HLS: its WHEP subscriber and x264 encoder would take the CPU the joins are measured on.
  hls: false,
};

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '100' },
    repeat: { type: 'string', default: '1' },
    'per-process': { type: 'string', default: '25' },
    'viewer-nice': { type: 'string', default: '0' },
    'join-timeout': { type: 'string', default: '60' },
    'cpu-prof': { type: 'string' },
    timeout: { type: 'string', default: '600' },
  },
});
const n = Number(args.n);
const repeat = Number(args.repeat);
const perProcess = Number(args['per-process']);
const viewerNice = Number(args['viewer-nice']);
const joinTimeoutMs = Number(args['join-timeout']) * 1000;
const timeoutSeconds = Number(args.timeout);
if (
  !(Number.isInteger(n) && n >= 1) ||
  !(Number.isInteger(repeat) && repeat >= 1) ||
  !(perProcess >= 1) ||
  !(Number.isInteger(viewerNice) && viewerNice >= 0 && viewerNice <= 19) ||
  !(joinTimeoutMs > 0) ||
  !(timeoutSeconds > 0)
) {
  console.error('burst: bad arguments (see the header of bench/burst.ts)');
  process.exit(2);
}

const log = (msg: string) => process.stderr.write(`[burst ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const hardStop = killChildrenOnExit(timeoutSeconds, log);

function stats(xs: (number | undefined)[]) {
  const v = xs.filter((x): x is number => x !== undefined);
  return { p50: percentile(v, 50), p95: percentile(v, 95), max: percentile(v, 100) };
}

async function burstOnce(run: number) {
  const profDir = args['cpu-prof'] ? path.resolve(args['cpu-prof']) : undefined;
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', path.join(profDir, `run-${run}`)] : [];
  const server = await startServerProcess(GROUP, GROUP_DESCRIPTION, [], nodeArgs);
  const wsUrl = `ws://127.0.0.1:${server.port}/ws`;
  const publishing = await startPublishing({ wsUrl, group: GROUP, username: 'speaker', password: 'pw' });
  const fleet = await startViewerFleet({
    wsUrl,
    group: GROUP,
    processes: Math.max(1, Math.ceil(n / perProcess)),
    nice: viewerNice,
    joinTimeoutMs,
  });
  try {
    await fleet.open(0, n); // WebSockets open, protocol handshake done: the burst is of `join` messages
    await sleep(2000); // the stream settles, the viewer processes are idle
    log(`run ${run}: ${n} viewers in ${fleet.workers.length} processes join at once (server pid ${server.pid})`);
    const cpu0 = processCpuUs(server.pid) ?? NaN;
    const m0 = machineJiffies();
    const t0 = performance.now();
    const burstAt = performance.timeOrigin + t0;
    const timings: JoinTiming[] = await fleet.join(0, n);
    const wallMs = performance.now() - t0;
    const cpuUs = (processCpuUs(server.pid) ?? NaN) - cpu0;
    const m1 = machineJiffies();
    const ok = timings.filter((t) => t.ok);
    const failed = timings.filter((t) => !t.ok);
    const result = {
      run,
      n,
      viewerProcesses: fleet.workers.length,
      joined: ok.length,
      failed: failed.length,
      failures: failureReasons(timings),
      failedIndices: failed.map((t) => t.index),
      /** From sending `join` to each milestone, over the viewers that got video. */
      joinedMs: stats(ok.map((t) => t.joinedMs)),
      offerMs: stats(ok.map((t) => t.offerMs)),
      answerSentMs: stats(ok.map((t) => t.answerSentMs)),
      connectedMs: stats(ok.map((t) => t.connectedMs)),
      firstVideoMs: stats(ok.map((t) => t.firstVideoMs)),
      /**
       * From the burst's start (all join commands sent to the viewer processes) to each viewer's connection
       * and first video: includes its WebSocket connection and handshake, and any wait for a busy viewer process.
       */
      sinceBurstStart: {
        connectedMs: stats(ok.map((t) => (t.joinSentAt !== undefined && t.connectedMs !== undefined ? Math.round(t.joinSentAt + t.connectedMs - burstAt) : undefined))),
        firstVideoMs: stats(ok.map((t) => (t.joinSentAt !== undefined && t.firstVideoMs !== undefined ? Math.round(t.joinSentAt + t.firstVideoMs - burstAt) : undefined))),
      },
      burstSeconds: Math.round(wallMs / 100) / 10,
      /** Server CPU (all threads) from the burst's start to the last viewer's first video, per viewer. */
      serverCpuMsPerViewer: Math.round(cpuUs / 1000 / n * 10) / 10,
      serverCores: Math.round((cpuUs / 1000 / wallMs) * 100) / 100,
      machineBusy: Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100) / 100,
    };
    log(
      `run ${run}: ${ok.length}/${n} ok; connected p50 ${result.connectedMs.p50} p95 ${result.connectedMs.p95} ms;` +
        ` first video p50 ${result.firstVideoMs.p50} p95 ${result.firstVideoMs.p95} ms; server ${result.serverCpuMsPerViewer} ms CPU/viewer`,
    );
    return result;
  } finally {
    await fleet.close();
    await publishing.close();
    await stopServerProcess(server);
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const runs = [];
  for (let r = 1; r <= repeat; r++) runs.push(await burstOnce(r));
  const out = {
    benchmark: 'burst',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node },
    config: { n, repeat, viewersPerProcess: perProcess, viewerNice, joinTimeoutSeconds: joinTimeoutMs / 1000, cpuProf: args['cpu-prof'] ?? null },
    runs,
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
}

runMain(main, hardStop, log);
