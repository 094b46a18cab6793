/**
 * The egress pipeline (src/egress/jobs) end to end with the real bundled ffmpeg: a generated 3 s VP8/Opus
 * WebM goes through finalize -> composite -> hls-vod and thumbnail, on the InProcessQueue and on BullMQ with
 * a REAL worker process (jobs/worker.ts) over a real Redis (127.0.0.1:6379, else a redis-server started here).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EGRESS_JOBS,
  onRecordingFinished,
  registerEgressJobs,
  resolveInRecordings,
} from '../src/egress/jobs/index.js';
import { decodeCheckArgs, probeMedia, runFfmpeg } from '../src/egress/ffmpeg/index.js';
import { BullMqQueue, InProcessQueue, type JobEvent, type JobQueue } from '../src/egress/queue/index.js';
import { LecternError } from '../src/errors.js';
import { startTestRedis, type TestRedis } from './helpers/redis.js';
import { testWebmArgs } from './helpers/testWebm.js';
import { waitFor } from './helpers/wait.js';

let root = ''; // the recordings folder
let outside = ''; // a sibling folder the jobs must never reach
let source = ''; // 3 s testsrc + sine, VP8/Opus
let redisUrl = '';
let testRedis: TestRedis | undefined;
const runId = randomUUID().slice(0, 8);
const prefix = `lectern-test-jobs-${runId}`;

async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals): Promise<number | null> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  child.kill(signal);
  return exited;
}

beforeAll(async () => {
  const base = await mkdtemp(join(tmpdir(), 'lectern-jobs-'));
  root = join(base, 'recordings');
  outside = join(base, 'outside');
  await Promise.all([mkdir(root), mkdir(outside)]);
  source = join(base, 'source.webm');
  await runFfmpeg(testWebmArgs(source, { seconds: 3 }));
  testRedis = await startTestRedis();
  redisUrl = testRedis.url;
});

afterAll(async () => {
  await testRedis?.cleanUp(prefix);
  if (root) await rm(join(root, '..'), { recursive: true, force: true });
});

describe('resolveInRecordings', () => {
  beforeAll(async () => {
    await mkdir(join(root, 'paths'), { recursive: true });
    await writeFile(join(outside, 'secret.webm'), 'secret');
    await writeFile(join(root, 'paths', 'ok.webm'), 'ok');
    await symlink(join(outside, 'secret.webm'), join(root, 'paths', 'file-link.webm'));
    await symlink(outside, join(root, 'paths', 'dir-link'));
    await symlink(join(root, 'paths', 'ok.webm'), join(root, 'paths', 'inner-link.webm'));
  });

  it.each([
    ['..', 'parent'],
    ['../outside/secret.webm', 'dot-dot'],
    ['paths/../../outside/secret.webm', 'dot-dot in the middle'],
    ['/etc/passwd', 'absolute'],
    ['', 'empty'],
    ['paths\\..\\..\\x', 'backslashes'],
    ['paths/ok.webm\0.jpg', 'NUL'],
    ['paths/file-link.webm', 'symlink to a file outside'],
    ['paths/dir-link/secret.webm', 'through a symlinked folder outside'],
    ['paths/dir-link/new.mp4', 'an output through a symlinked folder outside'],
  ])('refuses %j (%s)', async (rel) => {
    const err = await resolveInRecordings(root, rel).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LecternError);
    expect((err as LecternError).code).toBe('path-outside-recordings');
  });

  it('refuses a non-string', async () => {
    await expect(resolveInRecordings(root, 42)).rejects.toMatchObject({ code: 'path-outside-recordings' });
  });

  it.each([
    ['paths/ok.webm', 'paths/ok.webm'],
    ['paths/./ok.webm', 'paths/ok.webm'],
    ['paths/inner-link.webm', 'paths/ok.webm'],
    ['paths/new/out.mp4', 'paths/new/out.mp4'],
  ])('accepts %j', async (rel, expected) => {
    const abs = await resolveInRecordings(root, rel);
    expect(abs.endsWith(join('recordings', expected))).toBe(true);
  });
});

interface Backend {
  queue: JobQueue;
  close(): Promise<void>;
}

async function inProcess(): Promise<Backend> {
  const queue = new InProcessQueue({ backoffMs: 100 });
  registerEgressJobs(queue, { recordingsDir: root, jobOptions: { backoffMs: 100 } });
  return { queue, close: () => queue.close() };
}

let worker: ChildProcess | undefined;
let workerOutput = '';

async function startWorker(): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'jobs/worker.ts', '--redis', redisUrl, '--recordings', root, '--prefix', prefix, '--log-level', 'warn'],
    { cwd: join(import.meta.dirname, '..'), stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (workerOutput += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (workerOutput += c));
  await waitFor(() => workerOutput.includes('lectern worker ready') || child.exitCode !== null, 30_000, 'the worker to start');
  if (child.exitCode !== null) throw new Error(`worker exited: ${workerOutput}`);
  return child;
}

async function bullWithWorker(): Promise<Backend> {
  // The test process only enqueues and listens; the worker process runs every handler.
  const queue = new BullMqQueue({ redis: redisUrl, prefix, backoffMs: 100, names: [...EGRESS_JOBS] });
  worker = await startWorker();
  return { queue, close: () => queue.close() };
}

describe.each([
  ['InProcessQueue', inProcess],
  ['BullMQ + a separate worker process', bullWithWorker],
])('egress jobs on %s', (label, make) => {
  let b: Backend;
  const events: JobEvent[] = [];
  const dir = label.startsWith('In') ? 'inproc' : 'bull';
  beforeAll(async () => {
    b = await make();
    b.queue.onEvent((e) => events.push(e));
    await mkdir(join(root, dir), { recursive: true });
  }, 60_000);
  afterAll(async () => {
    await b?.close();
  });

  const completed = (name: string) => events.find((e) => e.type === 'completed' && e.name === name);

  it('finalize -> composite -> hls-vod and thumbnail: outputs decode, durations match, the playlist ends', async () => {
    const rel = `${dir}/2026-11-24T10:00:00.000-teacher.webm`;
    await copyFile(source, join(root, rel));
    const id = await onRecordingFinished(b.queue, { camera: rel });
    const failed = () => events.find((e) => e.type === 'failed');
    await waitFor(() => !!failed() || (!!completed('hls-vod') && !!completed('thumbnail')), 90_000, 'the pipeline');
    expect(failed()).toBeUndefined();
    expect(completed('finalize')?.id).toBe(id);
    expect(events.some((e) => e.type === 'progress' && e.name === 'composite')).toBe(true);

    const base = join(root, rel.replace(/\.webm$/, ''));
    // The finalized file replaced the original in place, and no temp file is left.
    const finalized = await probeMedia(join(root, rel));
    expect(finalized.streams.map((s) => s.codec)).toEqual(['vp8', 'opus']);
    expect(Math.abs(finalized.durationSeconds! - 3)).toBeLessThan(0.5);
    expect((await readdir(join(root, dir))).filter((f) => f.startsWith('.'))).toEqual([]);

    expect(completed('composite')).toMatchObject({ result: { output: rel.replace(/\.webm$/, '.mp4') } });
    const mp4 = await probeMedia(`${base}.mp4`);
    expect(mp4.streams.map((s) => [s.type, s.codec])).toEqual([
      ['video', 'h264'],
      ['audio', 'aac'],
    ]);
    expect(Math.abs(mp4.durationSeconds! - 3)).toBeLessThan(0.5);
    await runFfmpeg(decodeCheckArgs(`${base}.mp4`));

    const playlist = await readFile(`${base}.hls/index.m3u8`, 'utf8');
    expect(playlist).toContain('#EXT-X-ENDLIST');
    const segments = playlist.split('\n').filter((l) => l.endsWith('.ts'));
    expect(segments.length).toBeGreaterThan(0);
    for (const s of segments) await runFfmpeg(decodeCheckArgs(join(`${base}.hls`, s)));

    const jpg = await readFile(`${base}.jpg`);
    expect([...jpg.subarray(0, 3)]).toEqual([0xff, 0xd8, 0xff]);
    await runFfmpeg(decodeCheckArgs(`${base}.jpg`));
  }, 120_000);

  it('a corrupt recording ends failed after its retries with ffmpeg stderr as the reason; the file stays', async () => {
    const rel = `${dir}/corrupt.webm`;
    const junk = Buffer.from('this is not a webm file at all '.repeat(64));
    await writeFile(join(root, rel), junk);
    const id = await onRecordingFinished(b.queue, { camera: rel }, { attempts: 2, backoffMs: 100 });
    await waitFor(() => events.some((e) => e.type === 'failed' && e.id === id), 30_000, 'the finalize job to fail');
    const info = await b.queue.getJob(id);
    expect(info).toMatchObject({ state: 'failed', attemptsMade: 2 });
    expect(info!.failedReason).toMatch(/ffmpeg exited with/);
    expect(info!.failedReason).toMatch(/Invalid data found when processing input/);
    expect(info!.failedReason!.split('\n').length).toBeGreaterThan(1); // stderr lines, not only a summary
    expect(await readFile(join(root, rel))).toEqual(junk);
    expect((await readdir(join(root, dir))).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a path escaping the recordings folder is refused', async () => {
    await writeFile(join(outside, 'victim.webm'), 'victim');
    const id = await onRecordingFinished(b.queue, { camera: '../outside/victim.webm' }, { attempts: 1 });
    await waitFor(() => events.some((e) => e.type === 'failed' && e.id === id), 30_000, 'the finalize job to fail');
    expect((await b.queue.getJob(id))?.failedReason).toMatch(/refused path/);
    expect(await readFile(join(outside, 'victim.webm'), 'utf8')).toBe('victim');
  });

  if (label.startsWith('BullMQ')) {
    it('SIGTERM aborts the running job and exits; another worker retries it to completion', async () => {
      const rel = `${dir}/long.webm`;
      await runFfmpeg(testWebmArgs(join(root, rel), { seconds: 20 }));
      const id = await b.queue.add('composite', { recording: { camera: rel } }, { attempts: 3, backoffMs: 100 });
      await waitFor(
        () => events.some((e) => e.type === 'progress' && e.id === id && e.progress > 0 && e.progress < 100),
        30_000,
        'the composite to make progress',
      );
      const t0 = Date.now();
      expect(await stopChild(worker, 'SIGTERM')).toBe(0);
      expect(Date.now() - t0).toBeLessThan(10_000);
      expect(events.some((e) => e.type === 'completed' && e.id === id)).toBe(false);
      expect((await readdir(join(root, dir))).filter((f) => f.startsWith('.'))).toEqual([]); // temp file removed

      worker = await startWorker();
      await waitFor(() => events.some((e) => (e.type === 'completed' || e.type === 'failed') && e.id === id), 90_000, 'the retry');
      const info = await b.queue.getJob(id);
      expect(info).toMatchObject({ state: 'completed' });
      expect(info!.attemptsMade).toBe(2); // the aborted try counted, the retry completed
      const mp4 = await probeMedia(join(root, `${dir}/long.mp4`));
      expect(Math.abs(mp4.durationSeconds! - 20)).toBeLessThan(0.5);
    }, 150_000);

    it('the worker exits cleanly on SIGTERM', async () => {
      expect(await stopChild(worker, 'SIGTERM')).toBe(0);
    });
  }
});

describe('jobs/worker.ts usage errors', () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; err: string }>((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'jobs/worker.ts', ...args], {
        cwd: join(import.meta.dirname, '..'),
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (c: string) => (err += c));
      child.once('exit', (code) => resolve({ code, err }));
    });

  it.each([
    [[], /--redis URL is required/],
    [['--redis', 'redis://127.0.0.1:1'], /--recordings DIR is required/],
    [['--redis', 'http://x', '--recordings', '.'], /--redis: expected/],
    [['--redis', 'redis://127.0.0.1:1', '--recordings', '/nonexistent-lectern'], /is not a directory/],
    [['--redis', 'redis://127.0.0.1:1', '--recordings', '.', '--concurrency', '0'], /--concurrency/],
    [['--bogus'], /Unknown option/],
  ])('%j -> exit 2 with a clear message', async (args, message) => {
    const { code, err } = await run(args as string[]);
    expect(code).toBe(2);
    expect(err).toMatch(message);
    expect(err).toContain('usage: npm run worker');
  });
});
