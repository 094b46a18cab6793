/** The Lectern server as a child process of the benchmark, so that its CPU and memory can be read from /proc. */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface ServerProc {
  child: ChildProcess;
  pid: number;
  port: number;
  dir: string;
  url: string;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export function relay(stream: NodeJS.ReadableStream | null, prefix: string): void {
  let buf = '';
  stream?.on('data', (d: Buffer) => {
    buf += d.toString();
    const lines = buf.split('\n');
    buf = lines.pop() ?? '';
    for (const l of lines) if (l.trim()) process.stderr.write(`${prefix} ${l.slice(0, 500)}\n`);
  });
}

export async function startServerProcess(
  group: string,
  description: unknown,
  extraArgs: string[] = [],
  /** Options for node itself (e.g. --cpu-prof), before the script. */
  nodeArgs: string[] = [],
  /** The folders of an earlier server (its data, groups and recordings) to start again on. */
  reuseDir?: string,
): Promise<ServerProc> {
  const dir = reuseDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-bench-'));
  for (const d of ['data', 'groups', 'recordings']) fs.mkdirSync(path.join(dir, d), { recursive: true });
  fs.writeFileSync(path.join(dir, 'groups', `${group}.json`), JSON.stringify(description));
  const port = await freePort();
  // node --import tsx: the child *is* the server (npx/tsx would put node one or two processes further down).
  const child = track(
    spawn(
      process.execPath,
      [
        ...nodeArgs,
        '--import', 'tsx', path.join(ROOT, 'src', 'main.ts'),
        '--insecure', '--http', `127.0.0.1:${port}`,
        '--data', path.join(dir, 'data'), '--groups', path.join(dir, 'groups'),
        '--recordings', path.join(dir, 'recordings'),
        '--ice-address', '127.0.0.1', '--log-level', 'warn', ...extraArgs,
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    ),
  );
  relay(child.stdout, '[server]');
  relay(child.stderr, '[server]');
  if (child.pid === undefined) throw new Error('could not start the server');
  const url = `http://127.0.0.1:${port}`;
  const end = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the server exited with code ${child.exitCode}`);
    try {
      await fetch(`${url}/`, { signal: AbortSignal.timeout(1000) });
      break;
    } catch {
      if (Date.now() > end) throw new Error('the server did not start listening within 90 s');
      await sleep(100);
    }
  }
  return { child, pid: child.pid, port, dir, url };
}

export async function stopServerProcess(s: ServerProc): Promise<void> {
  if (s.child.exitCode === null && s.child.signalCode === null) {
    const exited = new Promise<void>((r) => s.child.once('exit', () => r()));
    s.child.kill('SIGTERM');
    const t = setTimeout(() => s.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(t);
  }
  fs.rmSync(s.dir, { recursive: true, force: true });
}

