/**
 * A fuzz worker thread: runs the named target of targets.ts over each batch of inputs it is sent and answers
 * with the batch's number once every call has returned (a call may throw; only a call that never returns, or
 * that exhausts the thread's memory, is a finding: the parent then sees no answer, or the thread die).
 */
import { parentPort } from 'node:worker_threads';
import { targets } from './targets.js';

parentPort!.on('message', (m: { batch: number; target: string; inputs: Uint8Array[] }) => {
  const run = targets[m.target];
  if (!run) throw new Error(`no fuzz target ${m.target}`);
  for (const input of m.inputs) {
    try {
      run(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    } catch {
      // an exception is a clean rejection
    }
  }
  parentPort!.postMessage(m.batch);
});
parentPort!.postMessage('ready');
