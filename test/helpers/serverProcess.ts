import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { waitUntil } from './wait.js';

/** A Lectern server started as users start it (`src/main.ts` with flags), in a process of its own. */
export interface ServerProcess {
  url: string;
  wsUrl: string;
  port: number;
  pid: number;
  /** The groups folder (files may be rewritten while it runs) and the recordings folder. */
  groupsDir: string;
  recordingsDir: string;
  /** What the process printed so far: all of it, and its standard error alone. */
  output(): string;
  stderr(): string;
  /** Sends SIGTERM and resolves with the exit code once the process has exited (null: ended by a signal). */
  terminate(): Promise<number | null>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once('error', reject);
  });
}

/**
 * Starts `src/main.ts --insecure --ice-address 127.0.0.1` on a free port with temp data, groups and recordings
 * folders holding `groups` (each a description, or a string: the file's text as is) and `config` (as
 * data/config.json), plus `args`; resolves once it serves HTTP.
 */
export async function startServerProcess(opts: { groups: Record<string, unknown>; config?: unknown; args?: string[]; port?: number }): Promise<ServerProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-process-'));
  const [data, groups, recordings] = ['data', 'groups', 'recordings'].map((d) => path.join(dir, d)) as [string, string, string];
  fs.mkdirSync(data);
  fs.mkdirSync(groups);
  if (opts.config) fs.writeFileSync(path.join(data, 'config.json'), JSON.stringify(opts.config));
  for (const [name, desc] of Object.entries(opts.groups)) {
    fs.writeFileSync(path.join(groups, `${name}.json`), typeof desc === 'string' ? desc : JSON.stringify(desc));
  }
  // (A given port: a restart where the clients reconnect to the address they knew.)
  const port = opts.port ?? (await freePort());
  const args = ['--import', 'tsx', 'src/main.ts', '--insecure', '--http', `127.0.0.1:${port}`, '--ice-address', '127.0.0.1'];
  args.push('--data', data, '--groups', groups, '--recordings', recordings, '--log-level', 'warn', ...(opts.args ?? []));
  const child: ChildProcess = spawn(process.execPath, args, { cwd: path.join(import.meta.dirname, '../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (output += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => {
    output += c;
    stderr += c;
  });
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitUntil(
      'the server process to serve HTTP',
      async () => {
        if (child.exitCode !== null) throw new Error(`the server exited: ${output}`);
        return (await fetch(`${url}/public-groups.json`).catch(() => undefined))?.status;
      },
      (status) => status === 200,
      30_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    url,
    wsUrl: `ws://127.0.0.1:${port}/ws`,
    port,
    pid: child.pid!,
    groupsDir: groups,
    recordingsDir: recordings,
    output: () => output,
    stderr: () => stderr,
    terminate: () => {
      const exited = new Promise<number | null>((r) => (child.exitCode !== null ? r(child.exitCode) : child.once('exit', (code) => r(code))));
      child.kill('SIGTERM');
      return exited;
    },
    stop,
  };
}
