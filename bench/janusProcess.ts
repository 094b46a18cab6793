/**
 * Janus (Debian's `janus` package, 1.1.2) as the bench's other SFU: a child process with a generated config
 * folder in a temp dir. Only the streaming plugin (one RTP mountpoint, Opus + VP8 on loopback ports) and the
 * HTTP transport (on a free loopback port) are loaded; ICE gathers on 127.0.0.1 only, no STUN server.
 * Everything else is Janus's stock configuration, unless `eventLoops` is given (`event_loops` in janus.jcfg).
 */
import { spawn, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { track } from './children.js';

export const JANUS_BIN = process.env.JANUS ?? '/usr/bin/janus';
const LIB = '/usr/lib/x86_64-linux-gnu/janus';
const MOUNTPOINT_ID = 1;

export interface JanusProc {
  pid: number;
  /** http://127.0.0.1:<port>/janus */
  url: string;
  mountpoint: number;
  /** Sends one RTP packet of the publisher to the mountpoint. */
  sendVideo(rtp: Buffer): void;
  sendAudio(rtp: Buffer): void;
  stop(): Promise<void>;
}

/** Janus's version line, or undefined when there is no janus binary to run. */
export function janusVersion(): string | undefined {
  const r = spawnSync(JANUS_BIN, ['--version'], { encoding: 'utf8', timeout: 10_000 });
  // `janus --version` prints its version and exits 1.
  return /Janus version: \d+ \(([^)]+)\)/.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1];
}

async function freeTcpPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** Two consecutive free UDP ports? Janus binds them itself; we only check that they are free now. */
async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function plugins(dir: string, keep: string): string {
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.so') && f !== keep)
    .join(',');
}

export async function startJanus(opts: { eventLoops?: number; log: (m: string) => void }): Promise<JanusProc> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-janus-'));
  const httpPort = await freeTcpPort();
  const audioPort = await freeUdpPort();
  const videoPort = await freeUdpPort();
  fs.writeFileSync(
    path.join(dir, 'janus.jcfg'),
    `general: {
  configs_folder = "${dir}"
  plugins_folder = "${LIB}/plugins"
  transports_folder = "${LIB}/transports"
  events_folder = "${LIB}/events"
  loggers_folder = "${LIB}/loggers"
  debug_level = 4
${opts.eventLoops ? `  event_loops = ${opts.eventLoops}\n` : ''}}
nat: {
  ice_enforce_list = "127.0.0.1"
  ignore_mdns = true
}
plugins: { disable = "${plugins(`${LIB}/plugins`, 'libjanus_streaming.so')}" }
transports: { disable = "${plugins(`${LIB}/transports`, 'libjanus_http.so')}" }
loggers: { disable = "${plugins(`${LIB}/loggers`, '')}" }
events: { broadcast = false }
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.transport.http.jcfg'),
    `general: {
  json = "compact"
  base_path = "/janus"
  http = true
  port = ${httpPort}
  ip = "127.0.0.1"
  https = false
}
admin: {
  admin_http = false
  admin_https = false
}
`,
  );
  fs.writeFileSync(
    path.join(dir, 'janus.plugin.streaming.jcfg'),
    `general: { }
bench: {
  type = "rtp"
  id = ${MOUNTPOINT_ID}
  description = "bench"
  audio = true
  video = true
  audioport = ${audioPort}
  audioiface = "127.0.0.1"
  audiopt = 111
  audiocodec = "opus"
  audiortpmap = "opus/48000/2"
  videoport = ${videoPort}
  videoiface = "127.0.0.1"
  videopt = 96
  videortpmap = "VP8/90000"
}
`,
  );
  const child = track(spawn(JANUS_BIN, ['-C', path.join(dir, 'janus.jcfg'), '-F', dir], { stdio: ['ignore', 'pipe', 'pipe'] }));
  if (child.pid === undefined) throw new Error(`could not start ${JANUS_BIN}`);
  // Janus's log goes to our stderr only when it says something is wrong.
  const lines: string[] = [];
  const keep = (b: Buffer) => {
    for (const l of b.toString().split('\n')) if (/ERR|fatal/i.test(l)) opts.log(`janus: ${l}`);
    lines.push(b.toString());
    if (lines.length > 200) lines.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const url = `http://127.0.0.1:${httpPort}/janus`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`janus exited (${child.exitCode}): ${lines.join('').slice(-2000)}`);
    try {
      const r = await fetch(`${url}/info`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('janus did not answer on its HTTP port within 20 s');
    await new Promise((r) => setTimeout(r, 200));
  }
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  return {
    pid: child.pid,
    url,
    mountpoint: MOUNTPOINT_ID,
    sendVideo: (rtp) => sock.send(rtp, videoPort, '127.0.0.1'),
    sendAudio: (rtp) => sock.send(rtp, audioPort, '127.0.0.1'),
    async stop() {
      sock.close();
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
