import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * bcryptjs is pure JavaScript: its async API still computes on the calling thread, in chunks of up to 100 ms,
 * so a login would stall the media forwarding on the main thread. Its compares and hashes run here instead,
 * on one worker thread made on first use (unref'd: it never keeps the process alive).
 */
const WORKER_CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const bcrypt = require(workerData.bcryptPath);
parentPort.on('message', async ({ id, op, a, b }) => {
  try {
    const value = op === 'compare' ? await bcrypt.compare(a, b) : await bcrypt.hash(a, b);
    parentPort.postMessage({ id, value });
  } catch (err) {
    parentPort.postMessage({ id, error: String(err && err.message || err) });
  }
});
`;

type Reply = { id: number; value?: unknown; error?: string };

let worker: Worker | undefined;
let nextId = 0;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

function thread(): Worker {
  if (worker) return worker;
  const bcryptPath = createRequire(import.meta.url).resolve('bcryptjs');
  const w = new Worker(WORKER_CODE, { eval: true, workerData: { bcryptPath } });
  w.unref();
  w.on('message', ({ id, value, error }: Reply) => {
    const p = pending.get(id);
    pending.delete(id);
    if (error !== undefined) p?.reject(new Error(error));
    else p?.resolve(value);
  });
  const fail = (err: Error): void => {
    if (worker === w) worker = undefined; // the next call starts a new thread
    for (const p of pending.values()) p.reject(err);
    pending.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`bcrypt thread exited (${code})`)));
  worker = w;
  return w;
}

function call<T>(op: 'compare' | 'hash', a: string, b: string | number): Promise<T> {
  const w = thread();
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    w.postMessage({ id, op, a, b });
  });
}

/** bcrypt.compare on the worker thread. */
export const bcryptCompare = (given: string, hash: string): Promise<boolean> => call('compare', given, hash);

/** bcrypt.hash on the worker thread. */
export const bcryptHash = (plain: string, cost: number): Promise<string> => call('hash', plain, cost);
