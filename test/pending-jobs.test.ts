/**
 * The recordings' job journal (src/egress/jobs/pendingJobs.ts) on real queues: recovery of what an earlier run
 * left, retries while the queue refuses (a BullMQ queue whose Redis is not there), and the end of an entry
 * once its chain has ended (real handlers, real ffmpeg). The whole server is tested in recording.test.ts.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobIndex } from '../src/egress/jobs/jobIndex.js';
import { PENDING_DIR, PendingJobs, chainEnded, parseEntry } from '../src/egress/jobs/pendingJobs.js';
import { registerEgressJobs } from '../src/egress/jobs/register.js';
import { BullMqQueue, InProcessQueue, type JobInfo } from '../src/egress/queue/index.js';
import { silentLogger } from '../src/log.js';
import { runFfmpeg } from '../src/egress/ffmpeg/index.js';
import { freePort } from './helpers/redis.js';
import { testWebmArgs } from './helpers/testWebm.js';
import { waitFor, waitUntil } from './helpers/wait.js';

let root = '';
const closers: (() => Promise<void> | void)[] = [];

beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-pending-'));
});

afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
  fs.rmSync(root, { recursive: true, force: true });
});

const journal = () => path.join(root, PENDING_DIR);
const entries = () =>
  fs.existsSync(journal())
    ? fs.readdirSync(journal()).filter((f) => f.endsWith('.json')).map((f) => JSON.parse(fs.readFileSync(path.join(journal(), f), 'utf8')))
    : [];

function writeEntry(name: string, content: string): void {
  fs.mkdirSync(journal(), { recursive: true, mode: 0o700 });
  fs.writeFileSync(path.join(journal(), name), content, { mode: 0o600 });
}

/** An in-process queue with no handler: the jobs added stay waiting, readable with getJob. */
function idleQueue(): { queue: InProcessQueue } {
  const queue = new InProcessQueue();
  closers.push(() => queue.close());
  return { queue };
}

describe('PendingJobs', () => {
  it('recover enqueues what an earlier run left (recordings in progress, refused enqueues) and sets bad entries aside', async () => {
    writeEntry('a-1.json', JSON.stringify({ v: 1, state: 'recording', recordings: [{ camera: 'g/cam.webm', screen: 'g/scr.webm' }, { camera: 'g/old.webm' }] }));
    writeEntry('a-2.json', JSON.stringify({ v: 1, state: 'finished', recordings: [{ camera: 'g/done.webm' }], attempts: 4 }));
    writeEntry('a-3.json', '{not json');
    writeEntry('a-4.json', JSON.stringify({ v: 1, state: 'finished', recordings: [{ camera: 42 }] }));
    const { queue } = idleQueue();
    const enqueued: { files: unknown; id: string }[] = [];
    const pending = new PendingJobs({ recordingsDir: root, queue, log: silentLogger, keepUntilDone: true, onEnqueued: (files, id) => enqueued.push({ files, id }) });
    closers.push(() => pending.close());
    pending.recover();
    await waitFor(() => enqueued.length === 3, 5000, () => `three finalize jobs, got ${JSON.stringify(enqueued)}`);
    const jobs = (await Promise.all(enqueued.map((e) => queue.getJob(e.id)))) as JobInfo[];
    const byCamera = (j: JobInfo) => (j.data as { recording: { camera: string } }).recording.camera;
    expect(jobs.sort((a, b) => (byCamera(a) < byCamera(b) ? -1 : 1)).map((j) => [j.name, j.data])).toEqual([
      ['finalize', { recording: { camera: 'g/cam.webm', screen: 'g/scr.webm' } }],
      ['finalize', { recording: { camera: 'g/done.webm' } }],
      ['finalize', { recording: { camera: 'g/old.webm' } }],
    ]);
    // In-process: the entries stay until their chains end (one per recording now), the bad ones are set aside.
    expect(entries().map((e) => e.recordings[0].camera).sort()).toEqual(['g/cam.webm', 'g/done.webm', 'g/old.webm']);
    expect(entries().every((e) => e.state === 'finished')).toBe(true);
    expect(fs.readdirSync(journal()).filter((f) => f.endsWith('.bad')).sort()).toEqual(['a-3.json.bad', 'a-4.json.bad']);
  });

  it('a recording in progress written by this process is not recovered by it', async () => {
    const { queue } = idleQueue();
    let enqueued = 0;
    const pending = new PendingJobs({ recordingsDir: root, queue, log: silentLogger, keepUntilDone: true, onEnqueued: () => enqueued++ });
    closers.push(() => pending.close());
    pending.recordingProgress('abc-1', [{ camera: 'g/live.webm' }]);
    expect(entries()).toEqual([{ v: 1, state: 'recording', recordings: [{ camera: 'g/live.webm' }] }]);
    expect(fs.statSync(journal()).mode & 0o777).toBe(0o700);
    expect(fs.statSync(path.join(journal(), 'abc-1.json')).mode & 0o777).toBe(0o600);
    pending.recover();
    await pending.close();
    expect(enqueued).toBe(0);
    expect(pending.size).toBe(0);
  });

  it('while the queue refuses, the entry stays with its attempts; close stops the retries; the next run enqueues it', async () => {
    // A BullMQ queue whose Redis does not exist: every add is refused with queue-unavailable.
    const port = await freePort();
    const down = new BullMqQueue({ redis: `redis://127.0.0.1:${port}`, addTimeoutMs: 1000, closeTimeoutMs: 500 });
    closers.push(() => down.close());
    const pending = new PendingJobs({ recordingsDir: root, queue: down, log: silentLogger, keepUntilDone: false, firstRetryMs: 50, maxRetryMs: 200 });
    pending.recordingProgress('rec-1', [{ camera: 'g/a.webm' }]);
    pending.finished('rec-1', [{ camera: 'g/a.webm' }, { screen: 'g/b.webm' }, {}]);
    await waitUntil('two refused attempts of each', async () => entries(), (e) => e.length === 2 && e.every((x) => (x.attempts ?? 0) >= 2), 20_000);
    for (const e of entries()) expect(e).toMatchObject({ v: 1, state: 'finished', lastError: { code: 'queue-unavailable' } });
    await pending.close();
    await pending.close(); // idempotent
    expect(entries()).toHaveLength(2); // kept on disk for the next start
    expect(pending.size).toBe(2);

    // The next run, on a queue that takes them: enqueued, and (not keepUntilDone) removed once queued.
    const { queue } = idleQueue();
    const ids: string[] = [];
    const next = new PendingJobs({ recordingsDir: root, queue, log: silentLogger, keepUntilDone: false, onEnqueued: (_f, id) => ids.push(id) });
    closers.push(() => next.close());
    next.recover();
    await waitFor(() => ids.length === 2, 5000, 'both enqueued');
    expect(entries()).toEqual([]);
    const data = await Promise.all(ids.map(async (id) => (await queue.getJob(id))!.data));
    expect(data.map((d) => JSON.stringify(d)).sort()).toEqual([
      JSON.stringify({ recording: { camera: 'g/a.webm' } }),
      JSON.stringify({ recording: { screen: 'g/b.webm' } }),
    ]);
  }, 60_000);

  it('in-process: the entry goes when the chain has ended, well (real ffmpeg) or failed (a missing file)', async () => {
    fs.mkdirSync(path.join(root, 'g'), { mode: 0o700 });
    await runFfmpeg(testWebmArgs(path.join(root, 'g', 'ok.webm'), { seconds: 2 }));
    const queue = new InProcessQueue({ backoffMs: 10 });
    registerEgressJobs(queue, { recordingsDir: root });
    let pending: PendingJobs | undefined;
    const index = new JobIndex(queue, { onChange: (base, jobs) => pending?.jobsChanged(base, jobs) });
    pending = new PendingJobs({ recordingsDir: root, queue, log: silentLogger, keepUntilDone: true, onEnqueued: (_f, id) => void index.track(id) });
    closers.push(() => queue.close(), () => index.close(), () => pending!.close());
    pending.finished(undefined, [{ camera: 'g/ok.webm' }, { camera: 'g/missing.webm' }]);
    await waitUntil('both chains to end', async () => entries(), (e) => e.length === 0, 60_000);
    expect(index.jobsOf('g/ok')).toMatchObject({ finalize: { state: 'completed' }, composite: { state: 'completed' }, 'hls-vod': { state: 'completed' }, thumbnail: { state: 'completed' } });
    expect(index.jobsOf('g/missing')).toMatchObject({ finalize: { state: 'failed' } });
    expect(fs.existsSync(path.join(root, 'g', 'ok.mp4'))).toBe(true);
  }, 90_000);
});

describe('chainEnded and parseEntry', () => {
  const done = { state: 'completed' as const, progress: 100 };
  const failed = { state: 'failed' as const, progress: 0 };
  const active = { state: 'active' as const, progress: 10 };
  it.each([
    [{}, false],
    [{ finalize: active }, false],
    [{ finalize: failed }, true],
    [{ finalize: done }, false],
    [{ finalize: done, composite: done, thumbnail: done }, false],
    [{ finalize: done, composite: failed, thumbnail: done }, true],
    [{ finalize: done, composite: done, 'hls-vod': done }, false],
    [{ finalize: done, composite: done, 'hls-vod': failed, thumbnail: done }, true],
  ])('%j -> %s', (jobs, ended) => {
    expect(chainEnded({ camera: 'g/a.webm' }, jobs)).toBe(ended);
  });

  it('a recording without camera or screen has no thumbnail to wait for', () => {
    expect(chainEnded({ audio: 'g/a.ogg' }, { finalize: done, composite: done, 'hls-vod': done })).toBe(true);
  });

  it.each([null, 1, {}, { v: 2, state: 'finished', recordings: [{ camera: 'a' }] }, { v: 1, state: 'other', recordings: [] }, { v: 1, state: 'finished', recordings: [] }, { v: 1, state: 'finished', recordings: [{ camera: 'a' }, { camera: 'b' }] }, { v: 1, state: 'recording', recordings: [{}] }, { v: 1, state: 'recording', recordings: [{ camera: '' }] }])(
    'refuses %j',
    (v) => {
      expect(parseEntry(v)).toBeUndefined();
    },
  );
});
