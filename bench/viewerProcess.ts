/** A viewer process of the fan-out benchmark (bench/viewerWorker.ts), driven over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';
import type { WorkerCommandBody, WorkerReply } from './fanoutProtocol.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const WORKER = path.join(ROOT, 'bench', 'viewerWorker.ts');

export class Worker {
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  readonly pid: number;

  constructor(readonly child: ChildProcess) {
    if (child.pid === undefined) throw new Error('could not start a viewer process');
    this.pid = child.pid;
    child.on('message', (r: WorkerReply) => {
      const p = this.pending.get(r.seq);
      if (!p) return;
      this.pending.delete(r.seq);
      if (r.type === 'error') p.reject(new Error(`viewer process ${this.pid}: ${r.error}`));
      else p.resolve(r);
    });
    child.once('exit', (code, signal) => {
      for (const p of this.pending.values()) p.reject(new Error(`viewer process ${this.pid} exited (${code ?? signal})`));
      this.pending.clear();
    });
  }

  static start(viewerNice: number): Worker {
    // stdout of the worker goes to our stderr: stdout carries the JSON result only.
    const w = new Worker(track(fork(WORKER, [], { cwd: ROOT, execArgv: ['--import', 'tsx'], stdio: ['ignore', 2, 2, 'ipc'] })));
    // Niced, the viewer processes take the CPU the server leaves rather than competing with it as equals. At
    // nice 10 eight of them together still weigh almost as much as the server (CFS weights 8 × 110 vs 1024);
    // at 19 (8 × 15) the server gets ~90 % of a core it shares with them. Only the main (JavaScript) thread
    // is reniced: the threads node started before it keep nice 0, but do little.
    if (viewerNice > 0) os.setPriority(w.pid, viewerNice);
    return w;
  }

  request<T extends WorkerReply['type']>(
    cmd: WorkerCommandBody,
    timeoutMs: number,
  ): Promise<Extract<WorkerReply, { type: T }>> {
    const seq = ++this.seq;
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.pending.delete(seq);
        reject(new Error(`viewer process ${this.pid}: no answer to ${cmd.cmd} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(seq, {
        resolve: (r) => {
          clearTimeout(t);
          resolve(r as Extract<WorkerReply, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(t);
          reject(e);
        },
      });
      this.child.send({ ...cmd, seq });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.request<'ok'>({ cmd: 'stop' }, 6000).catch(() => undefined);
    const t = setTimeout(() => this.child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(t);
  }
}

