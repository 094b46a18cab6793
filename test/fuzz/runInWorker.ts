import type { Worker } from 'node:worker_threads';
import { startWorker } from '../../src/forward/threads/startWorker.js';

/** An input that a target did not return from within the limit, or on which its thread died. */
export interface Finding {
  input: string; // hex
  why: string;
}

export interface FuzzOptions {
  /** Time a batch may take before its thread is taken for hung (far above what a batch needs). */
  limitMs?: number;
  batchSize?: number;
  /** Heap of a fuzz thread: a target that allocates without bound dies of it instead of taking the machine. */
  heapMb?: number;
}

/**
 * Feeds `inputs` to `target` (targets.ts) in a worker thread, batch by batch. When a batch hangs or kills
 * its thread, the batch is halved until the one input that does it is found, and that is returned.
 */
export async function fuzzTarget(target: string, inputs: Uint8Array[], opts: FuzzOptions = {}): Promise<Finding | undefined> {
  const limitMs = opts.limitMs ?? 5000;
  const batchSize = opts.batchSize ?? 2000;
  const heapMb = opts.heapMb ?? 256;
  let worker = await spawn(heapMb);
  try {
    for (let at = 0; at < inputs.length; at += batchSize) {
      const batch = inputs.slice(at, at + batchSize);
      const failure = await runBatch(worker, target, batch, limitMs);
      if (failure === undefined) continue;
      await worker.terminate();
      return await narrow(target, batch, failure, limitMs, heapMb);
    }
    return undefined;
  } finally {
    await worker.terminate();
  }

  async function narrow(target: string, batch: Uint8Array[], why: string, limitMs: number, heapMb: number): Promise<Finding> {
    while (batch.length > 1) {
      const half = batch.slice(0, Math.ceil(batch.length / 2));
      worker = await spawn(heapMb);
      const failure = await runBatch(worker, target, half, limitMs);
      await worker.terminate();
      if (failure !== undefined) {
        batch = half;
        why = failure;
      } else {
        batch = batch.slice(half.length);
      }
    }
    worker = await spawn(heapMb);
    return { input: Buffer.from(batch[0]!).toString('hex'), why };
  }
}

/** A fuzz thread, once it has loaded its targets (so that loading is not counted against a batch's limit). */
function spawn(heapMb: number): Promise<Worker> {
  const worker = startWorker(new URL('./worker.ts', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
  return new Promise((resolve, reject) => {
    worker.once('message', () => resolve(worker));
    worker.once('error', reject);
  });
}

/** undefined when the batch ran through; otherwise what went wrong. */
function runBatch(worker: Worker, target: string, inputs: Uint8Array[], limitMs: number): Promise<string | undefined> {
  const batch = Math.random();
  return new Promise((resolve) => {
    const timer = setTimeout(() => done(`no return within ${limitMs} ms`), limitMs);
    const onMessage = (m: number): void => {
      if (m === batch) done(undefined);
    };
    const onError = (e: Error): void => done(`thread died: ${e.message}`);
    const onExit = (code: number): void => done(`thread exited with ${code}`);
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    worker.postMessage({ batch, target, inputs });
    function done(result: string | undefined): void {
      clearTimeout(timer);
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      resolve(result);
    }
  });
}
