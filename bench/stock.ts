/**
 * A short reproduction of issue 14: N stock werift viewers (test/helpers/stockViewer.ts) in one separate
 * process against a Lectern server process, one werift publisher (VP8 ~1.2 Mbit/s + Opus) here. Prints one
 * JSON line: per-kind loss over a window of publisher packets, duplicates, server CPU per forwarded packet,
 * UDP drops on the viewers' and server's sockets.
 *
 *   npx tsx bench/stock.ts [N=50] [seconds=10] [--cpu-prof DIR]
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startLoopbackStun } from '../test/helpers/loopbackStun.js';
import { MediaClient } from '../test/helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia } from '../test/helpers/mediaSource.js';
import { StockViewer } from '../test/helpers/stockViewer.js';
import { killChildrenOnExit, runMain, track } from './children.js';
import { machineJiffies, processCpuUs, udpDrops } from './procStats.js';
import { startServerProcess, stopServerProcess } from './serverProcess.js';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const log = (m: string) => process.stderr.write(`[stock] ${m}\n`);

type Report = { audio: number; video: number; audioArrivals: number; videoArrivals: number; connected: boolean }[];

async function viewerProcess(url: string, n: number): Promise<void> {
  const viewers: StockViewer[] = [];
  for (let i = 0; i < n; i++) viewers.push(await StockViewer.join({ url, group: 'bench', username: `v${i}` }));
  const first = () => viewers.map((v) => [...v.streams.values()][0]);
  process.on('message', (m: { cmd: string; audio?: number[]; video?: number[] }) => {
    if (m.cmd === 'ready?') {
      process.send!({ ready: first().filter((s) => s && s.video.seqs.size > 0 && s.audio.seqs.size > 0).length });
    } else if (m.cmd === 'count') {
      const a = new Set(m.audio), v = new Set(m.video);
      const report: Report = first().map((s) => ({
        audio: s ? [...a].filter((x) => s.audio.seqs.has(x)).length : 0,
        video: s ? [...v].filter((x) => s.video.seqs.has(x)).length : 0,
        audioArrivals: s?.audio.arrivals ?? 0,
        videoArrivals: s?.video.arrivals ?? 0,
        connected: s?.pc.connectionState === 'connected',
      }));
      process.send!({ report });
    }
  });
  process.send!({ joined: n });
}

async function main(): Promise<void> {
  const [nArg, secArg] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const n = Number(nArg ?? 50);
  const seconds = Number(secArg ?? 10);
  const prof = process.argv.indexOf('--cpu-prof');
  const nodeArgs = prof > 0 ? ['--cpu-prof', '--cpu-prof-dir', process.argv[prof + 1]!] : [];
  const group = { users: { speaker: { password: 'pw', permissions: 'op' } }, 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' }, hls: false };
  const server = await startServerProcess('bench', group, [], nodeArgs);
  const stun = await startLoopbackStun();
  const media = await startTestMedia({ videoBitrate: '1.2M', width: 960, height: 540 });
  const teacher = await MediaClient.join({ url: server.url.replace('http', 'ws') + '/ws', group: 'bench', username: 'speaker', password: 'pw', stunPort: stun.port });
  const pub = createPublisherPeer({ stunPort: stun.port });
  let recording = false;
  const sent = { audio: [] as number[], video: [] as number[] };
  media.onVideo((rtp) => (recording && sent.video.push(rtp.readUInt16BE(2)), pub.sendVideo(rtp)));
  media.onAudio((rtp) => (recording && sent.audio.push(rtp.readUInt16BE(2)), pub.sendAudio(rtp)));
  await teacher.publish('camera', pub);
  await pub.connected();
  const child = track(fork(fileURLToPath(import.meta.url), ['--viewers', server.url.replace('http', 'ws') + '/ws', String(n)], { execArgv: ['--import', 'tsx'] }));
  const ask = <T>(cmd: object): Promise<T> => new Promise((resolve) => { child.once('message', (m) => resolve(m as T)); child.send(cmd); });
  await new Promise((r) => child.once('message', r));
  const joinedAt = Date.now();
  let ready = 0;
  while (Date.now() - joinedAt < 40_000) {
    ready = (await ask<{ ready: number }>({ cmd: 'ready?' })).ready;
    if (ready === n) break;
    await sleep(500);
  }
  log(`${ready}/${n} viewers have media after ${(Date.now() - joinedAt) / 1000} s`);
  await sleep(2000);
  const pids = [server.pid, child.pid!];
  const drops0 = udpDrops(pids), cpu0 = processCpuUs(server.pid)!, m0 = machineJiffies();
  recording = true;
  await sleep(seconds * 1000);
  recording = false;
  const cpu1 = processCpuUs(server.pid)!, m1 = machineJiffies();
  await sleep(3000);
  const drops1 = udpDrops(pids);
  const { report } = await ask<{ report: Report }>({ cmd: 'count', audio: sent.audio, video: sent.video });
  const got = report.reduce((s, r) => s + r.audio + r.video, 0);
  const share = (k: 'audio' | 'video') => report.map((r) => r[k] / sent[k].length);
  const a = share('audio'), v = share('video');
  const out = {
    n, seconds, sentAudio: sent.audio.length, sentVideo: sent.video.length,
    connected: report.filter((r) => r.connected).length,
    audioLoss: 1 - a.reduce((x, y) => x + y, 0) / n, worstAudio: Math.min(...a),
    videoLoss: 1 - v.reduce((x, y) => x + y, 0) / n, worstVideo: Math.min(...v),
    videoArrivalsPerSent: report.reduce((s, r) => s + r.videoArrivals, 0) / n,
    serverUsPerPacket: (cpu1 - cpu0) / got,
    machineBusy: (m1.busy - m0.busy) / (m1.total - m0.total),
    udpDrops: drops1.drops - drops0.drops,
  };
  console.log(JSON.stringify(out));
  child.kill();
  await pub.close();
  await media.close();
  await stopServerProcess(server);
  await stun.close();
}

if (process.argv[2] === '--viewers') void viewerProcess(process.argv[3]!, Number(process.argv[4]));
else runMain(main, killChildrenOnExit(300, log), log);
