/**
 * The fan-out benchmark: one publisher (VP8 ~1.2 Mbit/s + Opus, from the bundled ffmpeg) and N viewers, each
 * a werift PeerConnection in separate viewer processes, through a real Lectern server process. For each N it
 * prints the server's CPU per forwarded packet, packets forwarded per second, loss, join times and memory per
 * viewer; then it measures the hardware floor (bench/floorCore.ts) on the idle machine and divides.
 *
 *   npm run bench -- [--n 50,100,200] [--viewer stock,lean] [--peer lectern,janus] [--janus-event-loops 0,2] [--browsers 2] [--threads 0] [--seconds 10] [--mode count|werift] [--per-worker 25] [--burst 20]
 *                    [--viewer-nice 19] [--settle 3] [--join-timeout 30] [--floor-packets 100000]
 *                    [--run-floor-packets 40000] [--video-bitrate 1.2M] [--video-size 960x540] [--timeout 840]
 *                    [--cpu-prof <dir>]
 *
 * One JSON document on stdout ({ runs, floor, ... }) and in bench/results/fanout-<date>.json (or --out FILE),
 * progress on stderr. Loopback only. Stops by itself:
 * every child (server, viewer processes, ffmpeg, the floor's receiver) is killed on exit, error or timeout.
 *
 * What is measured, per N:
 * - server CPU: utime + stime of the server process (/proc/<pid>/stat) over a steady window after every
 *   viewer has joined and a settling pause; divided by the window's packets the viewers received.
 * - the window is the publisher's: the packets it sent between two instants, identified by sequence number
 *   (the server passes the publisher's numbers through). Once the viewer processes have drained, each viewer
 *   reports which of exactly those packets it got, so a viewer process lagging behind does not skew counts.
 * - loss: 1 − packets received / (packets published in the window × viewers that joined).
 * - join: from sending `join` to the viewer's PeerConnection being connected, and to its first video packet
 *   (the server replays its cached keyframe on connect, so no wait for the next keyframe).
 * - memory: (server RSS after the window − RSS with the publisher only) / N.
 * - threads (`--threads 0,1,2`: the server's --forward-threads, each N run once per value): the CPU of the
 *   server's busiest thread in the window, and `capacityPacketsPerSecond` = packets forwarded per second ÷
 *   that thread's busy fraction: what the server could forward with that thread saturated and a core for
 *   each thread. With viewers on this machine's two cores that is an extrapolation, not a measured maximum;
 *   `capacityRatio` compares it with the same N at one thread.
 * - the floor (bench/floorCore.ts): once at the end with everything of ours stopped (`floor`), and a shorter
 *   one right after each run (`floorAfterRun`, ffmpeg paused), which `ratio` uses: this shared machine's
 *   speed drifts over minutes, and the same-time pairing keeps the ratio steadier.
 * - viewers (`--viewer`, a list; each N runs once per kind): 'stock' (the default, bench/stockViewer.ts) are
 *   plain werift 0.24.4 peers with werift's default settings (RTCP receiver reports, NACKs, REMB as werift
 *   does them; ICE on 127.0.0.1 without STUN), counting what werift hands each track, per SSRC, by sequence
 *   number. 'lean' (bench/leanViewer.ts) are patched, cheaper viewers for higher N:
 * - lean viewers ('count' mode, the default) count SRTP packets from their cleartext RTP header without
 *   decrypting, so that the viewer processes, which share the two cores, take as little as possible; they
 *   send no NACKs or receiver reports. '--mode werift' runs werift's whole receive path instead.
 * - `--cpu-prof <dir>` runs the server under `node --cpu-prof` (<dir>/n<N>-t<threads>/, one .cpuprofile per
 *   thread, written when the server stops); the profiler's own cost shows in the CPU figures.
 * - contention: CPU of the viewer processes, of this driver (publisher) and of ffmpeg in the same window,
 *   the machine's busy fraction, and UDP datagrams the kernel dropped on the server's and viewers' sockets.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startLoopbackStun, type LoopbackStun } from '../test/helpers/loopbackStun.js';
import { MediaClient } from '../test/helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from '../test/helpers/mediaSource.js';
import { killChildrenOnExit, runMain } from './children.js';
import type { Counts, JoinTiming, SeqRange, ViewerKind, ViewerMode } from './fanoutProtocol.js';
import { measureFloor, type FloorResult } from './floorCore.js';
import {
  childPids,
  threadCpuUs,
  clockTicks,
  machineJiffies,
  processCpuUs,
  processMemoryKb,
  processName,
  totalCpuUs,
  udpDrops,
} from './procStats.js';
import { startBrowserViewers, type BrowserViewers, type BrowserViewerStats } from './browserViewers.js';
import { janusVersion, startJanus, type JanusProc } from './janusProcess.js';
import { startServerProcess, stopServerProcess } from './serverProcess.js';
import { Worker } from './viewerProcess.js';

const GROUP = 'bench';
const GROUP_DESCRIPTION = {
  users: { speaker: { password: 'pw', permissions: 'op' } },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
  // Forwarding alone: live HLS (a WHEP viewer and an x264 transcode) is measured by bench/hls.ts.
  hls: false,
};

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '50,100,200' },
    threads: { type: 'string', default: '0' },
    seconds: { type: 'string', default: '10' },
    settle: { type: 'string', default: '3' },
    viewer: { type: 'string', default: 'stock' },
    peer: { type: 'string', default: 'lectern' },
    'janus-event-loops': { type: 'string', default: '0' },
    browsers: { type: 'string', default: '2' },
    out: { type: 'string' },
    mode: { type: 'string', default: 'count' },
    'per-worker': { type: 'string', default: '25' },
    'viewer-nice': { type: 'string', default: '19' },
    burst: { type: 'string', default: '20' },
    'join-timeout': { type: 'string', default: '30' },
    'floor-packets': { type: 'string', default: '100000' },
    'run-floor-packets': { type: 'string', default: '40000' },
    'video-bitrate': { type: 'string', default: '1.2M' },
    'video-size': { type: 'string', default: '960x540' },
    timeout: { type: 'string', default: '840' },
    'cpu-prof': { type: 'string' },
  },
});

const counts = args.n.split(',').map((s) => Number(s.trim()));
const threadCounts = args.threads.split(',').map((s) => Number(s.trim()));
const seconds = Number(args.seconds);
const settleSeconds = Number(args.settle);
const viewerKinds = args.viewer.split(',').map((s) => s.trim()) as ViewerKind[];
const peers = args.peer.split(',').map((s) => s.trim());
const janusEventLoops = args['janus-event-loops'].split(',').map((s) => Number(s.trim()));
const browserCount = Number(args.browsers);
const mode = args.mode as ViewerMode;
const perWorker = Number(args['per-worker']);
const viewerNice = Number(args['viewer-nice']);
const burst = Number(args.burst);
const joinTimeoutMs = Number(args['join-timeout']) * 1000;
const floorPackets = Number(args['floor-packets']);
const runFloorPackets = Number(args['run-floor-packets']);
const timeoutSeconds = Number(args.timeout);
const [videoWidth, videoHeight] = args['video-size'].split('x').map(Number) as [number, number];
if (
  counts.some((n) => !Number.isInteger(n) || n < 1) ||
  threadCounts.some((t) => !Number.isInteger(t) || t < 0 || t > 64) ||
  !(seconds > 0) ||
  !(settleSeconds >= 0) ||
  (mode !== 'count' && mode !== 'werift') ||
  viewerKinds.some((v) => v !== 'stock' && v !== 'lean') ||
  peers.some((p) => p !== 'lectern' && p !== 'janus') ||
  !(Number.isInteger(browserCount) && browserCount >= 0 && browserCount <= 5) ||
  janusEventLoops.some((e) => !Number.isInteger(e) || e < 0 || e > 64) ||
  !(perWorker >= 1) ||
  !(Number.isInteger(viewerNice) && viewerNice >= 0 && viewerNice <= 19) ||
  !(burst >= 1) ||
  !(joinTimeoutMs > 0) ||
  !(floorPackets >= 1000) ||
  !(runFloorPackets >= 0) ||
  !(timeoutSeconds > 0) ||
  !(videoWidth >= 16 && videoHeight >= 16)
) {
  console.error('fanout: bad arguments (see the header of bench/fanout.ts)');
  process.exit(2);
}

const log = (msg: string) => process.stderr.write(`[fanout ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (x: number, digits = 2) => (Number.isFinite(x) ? Math.round(x * 10 ** digits) / 10 ** digits : null);

const hardStop = killChildrenOnExit(timeoutSeconds, log);

// ---- figures ----

function percentile(xs: number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

function sumCounts(cs: Counts[]): Counts {
  const out: Counts = {
    viewers: 0,
    joined: 0,
    connected: 0,
    videoInRange: 0,
    audioInRange: 0,
    videoHits: [],
    audioHits: [],
    viewersWithoutVideo: 0,
    packets: 0,
    duplicates: 0,
    at: 0,
  };
  const addHits = (into: number[], from: number[]) => {
    for (let i = 0; i < from.length; i++) into[i] = (into[i] ?? 0) + from[i]!;
  };
  for (const c of cs) {
    addHits(out.videoHits, c.videoHits);
    addHits(out.audioHits, c.audioHits);
    out.viewers += c.viewers;
    out.joined += c.joined;
    out.connected += c.connected;
    out.videoInRange += c.videoInRange;
    out.audioInRange += c.audioInRange;
    out.viewersWithoutVideo += c.viewersWithoutVideo;
    out.packets += c.packets;
    out.duplicates += c.duplicates;
    if (c.videoExpected !== undefined) out.videoExpected = (out.videoExpected ?? 0) + c.videoExpected;
    if (c.audioExpected !== undefined) out.audioExpected = (out.audioExpected ?? 0) + c.audioExpected;
    out.at = Math.max(out.at, c.at);
  }
  return out;
}

/** The browsers' window: getStats deltas per kind and viewer, and their sum. */
function browserFigures(b0: BrowserViewerStats[], b1: BrowserViewerStats[]) {
  const kind = (k: 'video' | 'audio') =>
    b1.map((end, i) => {
      const a = b0[i]?.[k];
      const b = end[k];
      if (!b) return null;
      const received = b.packetsReceived - (a?.packetsReceived ?? 0);
      const lost = b.packetsLost - (a?.packetsLost ?? 0);
      return { packetsReceived: received, packetsLost: lost, loss: round(lost / Math.max(1, received + lost), 4), jitterMs: round(b.jitter * 1000, 1) };
    });
  const video = kind('video');
  const audio = kind('audio');
  const sum = (xs: ({ packetsReceived: number } | null)[]) => xs.reduce((a, x) => a + (x?.packetsReceived ?? 0), 0);
  return {
    viewers: b1.length,
    connected: b1.filter((b) => b.connected).length,
    firstVideoMs: b1.map((b) => b.firstVideoMs),
    video,
    audio,
    packetsReceived: sum(video) + sum(audio),
  };
}

// ---- the publisher (in this process) ----

interface PublisherCounts {
  video: number;
  audio: number;
  videoPayloadBytes: number;
  audioPayloadBytes: number;
  /** Sequence number of the last packet of each kind handed to the publisher's peer connection. */
  videoSeq: number;
  audioSeq: number;
}

const published: PublisherCounts = { video: 0, audio: 0, videoPayloadBytes: 0, audioPayloadBytes: 0, videoSeq: 0, audioSeq: 0 };
let currentPub: PublisherPeer | undefined;
/** In a Janus run, the publisher's RTP goes as plain RTP to the mountpoint's ports instead. */
let currentJanus: JanusProc | undefined;

function rtpPayloadBytes(rtp: Buffer): number {
  if (rtp.length < 12) return 0;
  let h = 12 + 4 * (rtp[0]! & 0x0f);
  if (rtp[0]! & 0x10 && rtp.length >= h + 4) h += 4 + 4 * rtp.readUInt16BE(h + 2);
  return Math.max(0, rtp.length - h);
}

function feed(media: TestMedia): void {
  media.onVideo((rtp) => {
    if ((!currentPub && !currentJanus) || rtp.length < 12) return;
    published.video++;
    published.videoPayloadBytes += rtpPayloadBytes(rtp);
    published.videoSeq = rtp.readUInt16BE(2);
    if (currentPub) currentPub.sendVideo(rtp);
    else currentJanus?.sendVideo(rtp);
  });
  media.onAudio((rtp) => {
    if ((!currentPub && !currentJanus) || rtp.length < 12) return;
    published.audio++;
    published.audioPayloadBytes += rtpPayloadBytes(rtp);
    published.audioSeq = rtp.readUInt16BE(2);
    if (currentPub) currentPub.sendAudio(rtp);
    else currentJanus?.sendAudio(rtp);
  });
}

// ---- one run ----

const SERVER_COUNTERS = {
  received: 'lectern_received_packets_total',
  forwarded: 'lectern_forwarded_packets_total',
  retransmitted: 'lectern_retransmitted_packets_total',
  retransmitsDeclined: 'lectern_retransmits_declined_total',
  nacksReceived: 'lectern_nacks_received_total',
  nacksSent: 'lectern_nacks_sent_total',
  plisSent: 'lectern_plis_sent_total',
  keyframeRequests: 'lectern_keyframe_requests_total',
} as const;
type ServerCounters = Record<keyof typeof SERVER_COUNTERS, number>;

/** The counters above, read from the server's /metrics. */
async function serverCounters(port: number): Promise<ServerCounters | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
    return Object.fromEntries(Object.entries(SERVER_COUNTERS).map(([k, name]) => [k, value(name)])) as ServerCounters;
  } catch {
    return undefined;
  }
}

function counterDelta(a: ServerCounters, b: ServerCounters): ServerCounters {
  return Object.fromEntries(Object.keys(a).map((k) => [k, b[k as keyof ServerCounters] - a[k as keyof ServerCounters]])) as ServerCounters;
}

/** Taken in this process only (no round trip to the viewer processes), so all of it is one instant. */
interface Sample {
  at: number;
  serverCpuUs: number;
  serverMainThreadCpuUs: number;
  serverThreadsCpuUs: Map<number, number>;
  workersCpuUs: number;
  driverCpuUs: number;
  ffmpegCpuUs: number;
  machine: { busy: number; total: number; steal: number };
  published: PublisherCounts;
  serverDrops: number;
  serverDropsBySocket: Map<string, number>;
  viewerDrops: number;
}

/** The SFU the viewers watch: Lectern (a server process, --forward-threads `threads`) or Janus's streaming plugin. */
type Peer = { kind: 'lectern'; threads: number } | { kind: 'janus'; eventLoops: number };

async function runOnce(n: number, peer: Peer, viewerKind: ViewerKind, stunPort: number, ffmpegPid: number | undefined) {
  const threads = peer.kind === 'lectern' ? peer.threads : 0;
  const workers: Worker[] = [];
  let speaker: MediaClient | undefined;
  let pub: PublisherPeer | undefined;
  let janus: JanusProc | undefined;
  let browsers: BrowserViewers | undefined;
  let lectern: Awaited<ReturnType<typeof startServerProcess>> | undefined;
  let server: { pid: number };
  let wsUrl = '';
  try {
    if (peer.kind === 'janus') {
      log(`N=${n}: starting janus (event_loops ${peer.eventLoops || 'unset: stock'}; ${viewerKind} viewers)`);
      janus = await startJanus({ eventLoops: peer.eventLoops || undefined, log });
      server = janus;
      currentJanus = janus;
      log(`N=${n}: publishing to janus mountpoint ${janus.mountpoint} (janus pid ${janus.pid})`);
    } else {
      log(`N=${n}: starting the server (forwarding threads: ${threads}; ${viewerKind} viewers)`);
      const profDir = args['cpu-prof'] ? path.resolve(args['cpu-prof'], `n${n}-t${threads}`) : undefined;
      lectern = await startServerProcess(
        GROUP,
        GROUP_DESCRIPTION,
        threads > 0 ? ['--forward-threads', String(threads)] : [],
        profDir ? ['--cpu-prof', '--cpu-prof-dir', profDir] : [],
      );
      server = lectern;
      wsUrl = `ws://127.0.0.1:${lectern.port}/ws`;
      speaker = await MediaClient.join({ url: wsUrl, group: GROUP, username: 'speaker', password: 'pw', stunPort });
      const sp = speaker;
      sp.ws.onMessage((m) => {
        if (m.type === 'ping') sp.ws.send({ type: 'pong' });
      });
      pub = createPublisherPeer({ stunPort });
      currentPub = pub;
      const streamId = await speaker.publish('camera', pub);
      await pub.connected();
      pub.pc.connectionStateChange.subscribe((st) => {
        if (st === 'failed' || st === 'disconnected') log(`N=${n}: publisher connection ${st}`);
      });
      sp.ws.onMessage((m) => {
        if (m.id === streamId && (m.type === 'renegotiate' || m.type === 'abort' || m.type === 'close')) {
          log(`N=${n}: server sent ${m.type} for the published stream`);
        }
      });
      log(`N=${n}: publishing stream ${streamId.slice(0, 8)} (server pid ${lectern.pid})`);
    }

    const k = Math.max(1, Math.ceil(n / perWorker));
    for (let i = 0; i < k; i++) workers.push(Worker.start(viewerNice));
    // A viewer process compiles its TypeScript (tsx) first: slow on a loaded machine.
    const init = {
      cmd: 'init' as const,
      url: wsUrl,
      group: GROUP,
      viewer: viewerKind,
      mode,
      joinTimeoutMs,
      janus: janus ? { url: janus.url, mountpoint: janus.mountpoint } : undefined,
    };
    await Promise.all(workers.map((w) => w.request<'ok'>(init, 90_000)));
    await sleep(2000); // the publisher's stream settles, the viewer processes are idle
    const workerPids = workers.map((w) => w.pid);
    const sample = (): Sample => {
      const driver = process.cpuUsage();
      const serverDrops = udpDrops([server.pid]);
      return {
        at: performance.now(),
        serverCpuUs: processCpuUs(server.pid) ?? NaN,
        serverMainThreadCpuUs: processCpuUs(server.pid, server.pid) ?? NaN,
        serverThreadsCpuUs: threadCpuUs(server.pid),
        workersCpuUs: totalCpuUs(workerPids),
        driverCpuUs: driver.user + driver.system,
        ffmpegCpuUs: ffmpegPid !== undefined ? (processCpuUs(ffmpegPid) ?? NaN) : NaN,
        machine: machineJiffies(),
        published: { ...published },
        serverDrops: serverDrops.drops,
        serverDropsBySocket: serverDrops.bySocket,
        viewerDrops: udpDrops(workerPids).drops,
      };
    };
    const count = async (video?: SeqRange, audio?: SeqRange, window?: [number, number]) =>
      sumCounts(
        (await Promise.all(workers.map((w) => w.request<'count'>({ cmd: 'count', video, audio, window }, 10_000)))).map((r) => r.counts),
      );
    const memBefore = processMemoryKb(server.pid);
    const cpuBeforeJoin = processCpuUs(server.pid) ?? NaN;
    const mJoin = lectern ? await serverCounters(lectern.port) : undefined;
    log(`N=${n}: server RSS ${memBefore?.rssKb} KiB with the publisher only; ${k} viewer processes; joining in bursts of ${burst}`);

    // Joins: bursts of `burst` viewers, spread round-robin over the viewer processes.
    const timings: JoinTiming[] = [];
    const joinStarted = performance.now();
    for (let from = 0; from < n; from += burst) {
      const indices = Array.from({ length: Math.min(burst, n - from) }, (_, i) => from + i);
      const byWorker = new Map<Worker, number[]>();
      for (const i of indices) {
        const w = workers[i % k]!;
        byWorker.set(w, [...(byWorker.get(w) ?? []), i]);
      }
      const replies = await Promise.all(
        [...byWorker].map(([w, ix]) => w.request<'joined'>({ cmd: 'join', indices: ix }, joinTimeoutMs + 15_000)),
      );
      for (const r of replies) timings.push(...r.timings);
      const ok = timings.filter((t) => t.ok);
      log(
        `N=${n}: ${ok.length}/${timings.length} joined; connected p50 ${percentile(ok.map((t) => t.connectedMs!), 50)} ms,` +
          ` first video p50 ${percentile(ok.map((t) => t.firstVideoMs!), 50)} ms`,
      );
    }
    const joinWallMs = performance.now() - joinStarted;
    const joinCpuUs = (processCpuUs(server.pid) ?? NaN) - cpuBeforeJoin;
    // Packets forwarded while viewers were joining, to take their cost out of the join cost below.
    const joinForwarded = (await count()).packets;
    const failures = timings.filter((t) => !t.ok);
    for (const f of failures.slice(0, 5)) log(`N=${n}: viewer ${f.index} failed: ${f.error}`);

    // A few real browsers watch alongside (Lectern runs only): their getStats is reported, not counted above.
    if (lectern && browserCount > 0) {
      try {
        browsers = await startBrowserViewers(browserCount, `http://127.0.0.1:${lectern.port}`, GROUP, viewerNice);
        log(`N=${n}: ${browserCount} Chromium viewers watching too`);
      } catch (err) {
        log(`N=${n}: no Chromium viewers: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    await sleep(settleSeconds * 1000);

    // The window is defined by the publisher: the packets it sent between s0 and s1, identified by sequence
    // number. Viewer processes may lag behind (they are niced, the machine is shared), so they are asked
    // only after s1, once they have drained, how many of exactly those packets each viewer got.
    log(`N=${n}: measuring for ${seconds} s`);
    const b0 = await browsers?.stats().catch(() => undefined);
    const m0 = lectern ? await serverCounters(lectern.port) : undefined;
    const duplicatesBefore = (await count()).duplicates;
    const s0 = sample();
    await sleep(seconds * 1000);
    const s1 = sample();
    const b1 = await browsers?.stats().catch(() => undefined);
    const m1 = lectern ? await serverCounters(lectern.port) : undefined;
    const memAfter = processMemoryKb(server.pid);
    const workersMemKb = workerPids.reduce((a, p) => a + (processMemoryKb(p)?.rssKb ?? 0), 0);
    const videoRange: SeqRange = [s0.published.videoSeq, s1.published.videoSeq];
    const audioRange: SeqRange = [s0.published.audioSeq, s1.published.audioSeq];
    // Janus renumbers each viewer's packets: its viewers count what arrived in the window instead.
    const window: [number, number] | undefined = janus ? [performance.timeOrigin + s0.at, performance.timeOrigin + s1.at] : undefined;
    let got = await count(videoRange, audioRange, window);
    for (let i = 0; i < 20; i++) {
      await sleep(500);
      const again = await count(videoRange, audioRange, window);
      const settled = again.videoInRange === got.videoInRange && again.audioInRange === got.audioInRange;
      got = again;
      if (settled) break;
    }

    const windowS = (s1.at - s0.at) / 1000;
    const pubVideo = (s1.published.videoSeq - s0.published.videoSeq) & 0xffff;
    const pubAudio = (s1.published.audioSeq - s0.published.audioSeq) & 0xffff;
    const pubVideoBytes = s1.published.videoPayloadBytes - s0.published.videoPayloadBytes;
    const pubAudioBytes = s1.published.audioPayloadBytes - s0.published.audioPayloadBytes;
    const meanVideoPayload = pubVideoBytes / Math.max(1, s1.published.video - s0.published.video);
    const meanAudioPayload = pubAudioBytes / Math.max(1, s1.published.audio - s0.published.audio);
    const viewersOk = got.joined;
    const forwarded = got.videoInRange + got.audioInRange;
    // For Janus, what each viewer's sequence numbers say it was sent in the window (see janusViewer.ts).
    const expectedVideo = got.videoExpected ?? pubVideo * viewersOk;
    const expectedAudio = got.audioExpected ?? pubAudio * viewersOk;
    const expected = expectedVideo + expectedAudio;
    // Packets of the window that no viewer got: lost on the way to the server or in it, for everyone.
    const videoNowhere = got.videoHits.filter((h) => h === 0).length;
    const audioNowhere = got.audioHits.filter((h) => h === 0).length;
    const browserWindow = b0 && b1 ? browserFigures(b0, b1) : null;
    const serverCpuUs = s1.serverCpuUs - s0.serverCpuUs;
    // Every packet the server sent viewers in the window: the browsers' too.
    const forwardedAll = forwarded + (browserWindow?.packetsReceived ?? 0);
    const workersCpuUs = s1.workersCpuUs - s0.workersCpuUs;
    const cores = (us: number) => round(us / (windowS * 1e6), 3);
    const busiestThreadUs = Math.max(...[...s1.serverThreadsCpuUs].map(([tid, us]) => us - (s0.serverThreadsCpuUs.get(tid) ?? 0)));
    const ok = timings.filter((t) => t.ok);
    const ms = (xs: (number | undefined)[]) => xs.filter((x): x is number => x !== undefined);
    const connectedMs = ms(ok.map((t) => t.connectedMs));
    const firstVideoMs = ms(ok.map((t) => t.firstVideoMs));

    const result = {
      n,
      peer: peer.kind === 'janus' ? (peer.eventLoops ? `janus event_loops=${peer.eventLoops}` : 'janus') : 'lectern',
      viewer: viewerKind,
      forwardThreads: threads,
      viewerProcesses: k,
      viewersJoined: viewersOk,
      viewersFailed: failures.length,
      viewersConnectedAtEnd: got.connected,
      /** Joined viewers that received none of the window's video packets. */
      viewersWithoutVideo: got.viewersWithoutVideo,
      windowSeconds: round(windowS, 2),
      /** Server CPU (user + system, all threads) in the window ÷ packets forwarded in it. */
      cpuUsPerPacket: round(serverCpuUs / forwardedAll, 2),
      /** Distinct packets of the window that reached viewers, per second. */
      forwardedPacketsPerSecond: round(forwarded / windowS, 0),
      /** forwardedPacketsPerSecond ÷ the busiest server thread's busy fraction (see the header). */
      capacityPacketsPerSecond: round(forwarded / windowS / (busiestThreadUs / (windowS * 1e6)), 0),
      forwardedMbitPerSecond: round(((got.videoInRange * meanVideoPayload + got.audioInRange * meanAudioPayload) * 8) / windowS / 1e6, 1),
      /**
       * 1 − packets received / (packets the publisher sent in the window × viewers that joined), counted by
       * sequence number: gaps after each viewer's first keyframe, wherever the packet was lost.
       */
      loss: round(1 - forwarded / expected, 4),
      videoLoss: round(1 - got.videoInRange / expectedVideo, 4),
      /** Audio has no NACK (as in Galène), so upstream losses are not repaired for it. */
      audioLoss: round(1 - got.audioInRange / expectedAudio, 4),
      /** Packets received in the window ÷ (published in it × viewers), per kind: above 1 with retransmissions. */
      receivedPerPublished: {
        video: round(got.videoInRange / (pubVideo * viewersOk), 4),
        audio: round(got.audioInRange / (pubAudio * viewersOk), 4),
      },
      /**
       * The part of `loss` made of packets that no viewer received (lost before the server or dropped for
       * everyone: the server's receive socket overflowing when it cannot keep up); the rest was lost on the
       * way to individual viewers.
       */
      lossForEveryone: round(((videoNowhere + audioNowhere) * viewersOk) / expected, 4),
      packetsNoViewerGot: { video: videoNowhere, audio: audioNowhere },
      /** Packets received twice (retransmissions of packets that had arrived), since the viewers joined. */
      duplicates: got.duplicates,
      /** Of those, the ones received in the window. */
      duplicatesInWindow: got.duplicates - duplicatesBefore,
      /** Duplicates ÷ every packet the viewers received: the share of the traffic that was retransmissions. */
      retransmissionShare: round(got.duplicates / Math.max(1, got.packets), 4),
      joinConnectedMs: { p50: percentile(connectedMs, 50), p95: percentile(connectedMs, 95), max: percentile(connectedMs, 100) },
      joinFirstVideoMs: { p50: percentile(firstVideoMs, 50), p95: percentile(firstVideoMs, 95), max: percentile(firstVideoMs, 100) },
      joinPhase: {
        seconds: round(joinWallMs / 1000, 1),
        /** Server CPU from the first join to the last viewer's first video, per viewer, forwarding included. */
        serverCpuMsPerViewer: round(joinCpuUs / 1000 / n, 1),
        /** The same minus forwarding (packets forwarded meanwhile × the window's µs/packet): signalling, ICE, DTLS. */
        serverCpuMsPerJoin: round((joinCpuUs - (serverCpuUs / forwarded) * joinForwarded) / 1000 / n, 1),
      },
      memory: {
        serverRssBeforeKb: memBefore?.rssKb ?? null,
        serverRssAfterKb: memAfter?.rssKb ?? null,
        serverPeakKb: memAfter?.peakKb ?? null,
        kbPerViewer: memBefore && memAfter ? round((memAfter.rssKb - memBefore.rssKb) / n, 0) : null,
        viewerProcessesRssKb: workersMemKb,
        /** The viewer processes' RSS ÷ N (each process also holds node itself, ~50 MiB). */
        viewerProcessRssKbPerViewer: round(workersMemKb / n, 0),
      },
      published: {
        videoPackets: pubVideo,
        audioPackets: pubAudio,
        videoPacketsPerSecond: round(pubVideo / windowS, 1),
        audioPacketsPerSecond: round(pubAudio / windowS, 1),
        videoMbitPerSecond: round((pubVideoBytes * 8) / windowS / 1e6, 2),
        meanVideoPayloadBytes: round(meanVideoPayload, 0),
        meanAudioPayloadBytes: round(meanAudioPayload, 0),
      },
      received: { videoPackets: got.videoInRange, audioPackets: got.audioInRange, expectedPackets: expected },
      /** CPU in the window, in cores (1 = one core fully busy), and the machine's busy fraction of all cores. */
      cpu: {
        serverCores: cores(serverCpuUs),
        /** The server's JavaScript thread alone: near 1 means the event loop has no time left. */
        serverMainThreadCores: cores(s1.serverMainThreadCpuUs - s0.serverMainThreadCpuUs),
        /** The server's busiest thread (the main one, or a forwarding thread). */
        serverBusiestThreadCores: cores(busiestThreadUs),
        viewerProcessesCores: cores(workersCpuUs),
        viewerCpuUsPerPacket: round(workersCpuUs / forwarded, 2),
        driverAndPublisherCores: cores(s1.driverCpuUs - s0.driverCpuUs),
        ffmpegCores: cores(s1.ffmpegCpuUs - s0.ffmpegCpuUs),
        machineBusy: round((s1.machine.busy - s0.machine.busy) / (s1.machine.total - s0.machine.total), 3),
        /** Time the hypervisor gave this VM's CPUs to someone else, as a fraction of all CPU time. */
        steal: round((s1.machine.steal - s0.machine.steal) / (s1.machine.total - s0.machine.total), 3),
        /** Everything else on the machine (not this benchmark's processes): other users of the shared cores. */
        otherProcessesCores: cores(
          ((s1.machine.busy - s0.machine.busy) * 1e6) / clockTicks() -
            (serverCpuUs + workersCpuUs + s1.driverCpuUs - s0.driverCpuUs + (s1.ffmpegCpuUs - s0.ffmpegCpuUs || 0)),
        ),
        cpus: os.cpus().length,
      },
      /** Datagrams the kernel dropped because a socket's receive buffer was full, in the window. */
      /** The Chromium viewers' getStats inbound-rtp, per kind, over the window (jitter: at its end, in ms). */
      browsers: browserWindow,
      /** Lectern's /metrics counters over the window (NACKs in and out, retransmissions, keyframe requests). */
      serverCounters: m0 && m1 ? counterDelta(m0, m1) : null,
      /** The same from the first join to the window's start. */
      serverCountersBeforeWindow: mJoin && m0 ? counterDelta(mJoin, m0) : null,
      udpDrops: {
        server: s1.serverDrops - s0.serverDrops,
        /** The most on one server socket (the publisher's, when the server cannot keep up), and how many had any. */
        serverWorstSocket: Math.max(0, ...[...s1.serverDropsBySocket].map(([i, d]) => d - (s0.serverDropsBySocket.get(i) ?? 0))),
        serverSocketsWithDrops: [...s1.serverDropsBySocket].filter(([i, d]) => d > (s0.serverDropsBySocket.get(i) ?? 0)).length,
        viewers: s1.viewerDrops - s0.viewerDrops,
      },
    };
    log(
      `N=${n}: ${result.cpuUsPerPacket} µs/packet, ${result.forwardedPacketsPerSecond} packets/s, loss ${result.loss},` +
        ` server ${result.cpu.serverCores} cores (main thread ${result.cpu.serverMainThreadCores}, busiest ${result.cpu.serverBusiestThreadCores}),` +
        ` capacity ${result.capacityPacketsPerSecond} packets/s, viewers ${result.cpu.viewerProcessesCores} cores,` +
        ` others ${result.cpu.otherProcessesCores} cores, machine ${result.cpu.machineBusy}`,
    );
    return result;
  } finally {
    log(`N=${n}: stopping`);
    await browsers?.close();
    await Promise.all(workers.map((w) => w.stop()));
    currentPub = undefined;
    currentJanus = undefined;
    await pub?.close().catch(() => undefined);
    await speaker?.close().catch(() => undefined);
    if (lectern) await stopServerProcess(lectern);
    await janus?.stop();
  }
}

// ---- main ----

interface FloorSummary {
  payloadBytes: number;
  packets: number;
  cpuUsPerPacket: number;
  cpuUsRange: [number, number];
  encryptUsPerPacket: number;
  sendUsPerPacket: number;
  cpuInterleavedUsPerPacket: number;
  lost: number;
}

function summarise(f: FloorResult): FloorSummary {
  return {
    payloadBytes: f.payloadBytes,
    packets: f.packets,
    cpuUsPerPacket: f.cpuUsPerPacket,
    cpuUsRange: f.phases.encryptSend.cpuUsRange,
    encryptUsPerPacket: f.encryptUsPerPacket,
    sendUsPerPacket: f.sendUsPerPacket,
    cpuInterleavedUsPerPacket: f.cpuInterleavedUsPerPacket,
    lost: f.lost,
  };
}

async function main(): Promise<void> {
  const started = Date.now();
  const janus = peers.includes('janus') ? janusVersion() : undefined;
  if (peers.includes('janus') && !janus) {
    log('no janus: the Janus comparison is skipped (install it: apt-get install janus; or JANUS=/path/to/janus)');
  }
  log(`N = ${counts.join(', ')}; ${seconds} s window; viewers ${viewerKinds.join(', ')} (lean mode '${mode}'); ${perWorker} viewers per process; floor: ${floorPackets} packets`);
  const stun: LoopbackStun = await startLoopbackStun();
  // testsrc at 640x480 tops out near 0.8 Mbit/s whatever the target; at 960x540 VP8 reaches ~1.2 Mbit/s.
  const media = await startTestMedia({ videoBitrate: args['video-bitrate'], width: videoWidth, height: videoHeight });
  const ffmpegPid = childPids(process.pid).find((p) => processName(p) === 'ffmpeg');
  feed(media);
  await media.firstVideo();
  type Run = Awaited<ReturnType<typeof runOnce>>;
  const runs: (Run & { floorAfterRun: FloorSummary | null })[] = [];
  const errors: { n: number; threads: number; viewer: ViewerKind; error: string }[] = [];
  try {
    // Lean viewers speak Galène's protocol only: Janus runs use stock viewers.
    const plan: { n: number; peer: Peer; viewerKind: ViewerKind }[] = [];
    for (const n of counts) {
      if (peers.includes('lectern'))
        for (const viewerKind of viewerKinds) for (const threads of threadCounts) plan.push({ n, peer: { kind: 'lectern', threads }, viewerKind });
      if (peers.includes('janus') && janus)
        for (const eventLoops of janusEventLoops) plan.push({ n, peer: { kind: 'janus', eventLoops }, viewerKind: 'stock' });
    }
    for (const { n, peer, viewerKind } of plan) {
      const threads = peer.kind === 'lectern' ? peer.threads : 0;
      try {
        const run = await runOnce(n, peer, viewerKind, stun.port, ffmpegPid);
        // This machine's speed drifts by tens of % over minutes (shared host): a floor taken right after each
        // run, with its server and viewers gone and ffmpeg paused, pairs the ratio with the same conditions.
        let floorAfterRun: FloorSummary | null = null;
        if (runFloorPackets > 0) {
          if (ffmpegPid !== undefined) process.kill(ffmpegPid, 'SIGSTOP');
          try {
            const payloadBytes = run.published.meanVideoPayloadBytes ?? 1100;
            floorAfterRun = summarise(
              await measureFloor({ packets: runFloorPackets, payloadBytes, destinations: 4, rounds: 3, budgetMs: 10_000 }),
            );
            log(`N=${n}: floor right after the run: ${floorAfterRun.cpuUsPerPacket} µs/packet`);
          } finally {
            if (ffmpegPid !== undefined) process.kill(ffmpegPid, 'SIGCONT');
          }
        }
        runs.push({ ...run, floorAfterRun });
      } catch (err) {
        const error = err instanceof Error ? err.message : String(err);
        log(`N=${n}: failed: ${error}`);
        errors.push({ n, threads, viewer: viewerKind, error });
      }
    }
  } finally {
    await media.close();
    await stun.close();
  }

  // The floor, on a machine with nothing else of ours running.
  const videoPayload = published.video ? Math.round(published.videoPayloadBytes / published.video) : 1100;
  const mixedPayload = Math.round(
    (published.videoPayloadBytes + published.audioPayloadBytes) / Math.max(1, published.video + published.audio),
  );
  await sleep(1000);
  log(`floor: ${floorPackets} packets of ${videoPayload} payload bytes (the mean video payload)`);
  const floor: FloorResult = await measureFloor({ packets: floorPackets, payloadBytes: videoPayload, destinations: 4 });
  log(`floor: ${floor.cpuUsPerPacket} µs/packet; at the mean payload of all packets (${mixedPayload} bytes):`);
  const floorMixed: FloorResult = await measureFloor({
    packets: Math.max(1000, Math.round(floorPackets / 2)),
    payloadBytes: mixedPayload,
    destinations: 4,
    budgetMs: 15_000,
  });
  log(`floor at ${mixedPayload} bytes: ${floorMixed.cpuUsPerPacket} µs/packet`);

  const out = {
    benchmark: 'fanout',
    date: new Date().toISOString(),
    machine: {
      cpus: os.cpus().length,
      model: os.cpus()[0]?.model ?? 'unknown',
      node: process.versions.node,
      clockTicks: clockTicks(),
    },
    config: {
      forwardThreads: threadCounts,
      viewers: viewerKinds,
      peers,
      /** Janus's version (Debian's package), or null when it was asked for and not found (then no Janus runs). */
      janus: janus ?? null,
      janusEventLoops,
      /** How lean viewers receive (`--mode`); stock viewers always use werift's whole receive path. */
      leanViewerMode: mode,
      windowSeconds: seconds,
      settleSeconds,
      viewersPerProcess: perWorker,
      viewerNice,
      joinBurst: burst,
      videoBitrate: args['video-bitrate'],
      videoSize: args['video-size'],
    },
    runs: runs.map((r) => ({
      ...r,
      /** The floor measured right after this run (falls back to the final floor). */
      floorUsPerPacket: r.floorAfterRun?.cpuUsPerPacket ?? floor.cpuUsPerPacket,
      /** Server CPU per forwarded packet ÷ floorUsPerPacket (a video-sized packet). */
      ratio: round((r.cpuUsPerPacket ?? NaN) / (r.floorAfterRun?.cpuUsPerPacket ?? floor.cpuUsPerPacket), 2),
      /** Server CPU per forwarded packet ÷ the final floor (`floor` below). */
      ratioToFinalFloor: round((r.cpuUsPerPacket ?? NaN) / floor.cpuUsPerPacket, 2),
      /** ÷ the final floor at the mean payload of everything forwarded (audio packets are small). */
      ratioMixedPayload: round((r.cpuUsPerPacket ?? NaN) / floorMixed.cpuUsPerPacket, 2),
      /** capacityPacketsPerSecond ÷ that of the run with the same N and one forwarding thread. */
      capacityRatio: round(
        (r.capacityPacketsPerSecond ?? NaN) /
          (runs.find((o) => o.n === r.n && o.viewer === r.viewer && o.forwardThreads === 1)?.capacityPacketsPerSecond ?? NaN),
        2,
      ),
    })),
    errors,
    floor,
    floorMixedPayload: summarise(floorMixed),
    totalSeconds: Math.round((Date.now() - started) / 1000),
  };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  // Also kept in bench/results/ (or --out FILE).
  const file =
    args.out ?? path.join(path.dirname(fileURLToPath(import.meta.url)), 'results', `fanout-${out.date.slice(0, 16).replace(/[T:]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(out, null, 2)}\n`);
  log(`written to ${file}`);
  log(`done in ${out.totalSeconds} s`);
}

runMain(main, hardStop, log);
