/**
 * Bench-only preload for the server process (bench/memory.ts): `node --expose-gc --import ./bench/memProbe.mjs`.
 * No endpoint, no production code: on SIGUSR2 it runs two full GCs and writes `process.memoryUsage()` as JSON
 * to `<tmpdir>/lectern-memprobe-<pid>.json` (written whole, then renamed). If
 * `<tmpdir>/lectern-memprobe-<pid>.snapshot` exists when the signal comes, it holds a path, and a heap snapshot
 * is written there first (v8.writeHeapSnapshot also collects garbage).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';

const base = path.join(os.tmpdir(), `lectern-memprobe-${process.pid}`);

process.on('SIGUSR2', () => {
  let snapshot = null;
  try {
    snapshot = fs.readFileSync(`${base}.snapshot`, 'utf8').trim() || null;
    fs.rmSync(`${base}.snapshot`);
  } catch {
    // no snapshot asked for
  }
  if (snapshot) v8.writeHeapSnapshot(snapshot);
  globalThis.gc?.();
  globalThis.gc?.();
  const out = { at: Date.now(), gc: typeof globalThis.gc === 'function', snapshot, ...process.memoryUsage() };
  fs.writeFileSync(`${base}.tmp`, JSON.stringify(out));
  fs.renameSync(`${base}.tmp`, `${base}.json`);
});
