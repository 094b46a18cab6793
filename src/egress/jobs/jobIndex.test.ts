import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestRedis, type TestRedis } from '../../../test/helpers/redis.js';
import { BullMqQueue, InProcessQueue, type JobQueue } from '../queue/index.js';
import { recordingBase } from './handlers.js';
import { JobIndex, describeJob } from './jobIndex.js';
import { EGRESS_JOBS, type CompositeData, FinalizeData, HlsVodData, ThumbnailData } from './types.js';

const waitFor = async (cond: () => boolean, what: string) => {
  for (let i = 0; i < 500; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
};

let queue: InProcessQueue | undefined;
let index: JobIndex | undefined;
afterEach(async () => {
  index?.close();
  await queue?.close();
  queue = undefined;
  index = undefined;
});

/** The egress chain's shape with handlers that do no media work: the index only sees the queue. */
function fakeChain(q: JobQueue, opts: { failThumbnail?: boolean; gate?: Promise<void> } = {}): void {
  q.process<FinalizeData>('finalize', async (data, ctx) => {
    ctx.progress(50);
    await opts.gate;
    await q.add('composite', { recording: data.recording } satisfies CompositeData);
    await q.add('thumbnail', { input: data.recording.camera!, output: `${recordingBase(data.recording)}.jpg` } satisfies ThumbnailData);
    return {};
  });
  q.process<CompositeData>('composite', async (data, ctx) => {
    ctx.progress(10);
    ctx.progress(90);
    const base = recordingBase(data.recording);
    await q.add('hls-vod', { input: `${base}.mp4`, dir: `${base}.hls` } satisfies HlsVodData);
    return { output: `${base}.mp4` };
  });
  q.process('hls-vod', async (_d, ctx) => {
    ctx.progress(100);
    return {};
  });
  q.process('thumbnail', async () => {
    if (opts.failThumbnail) throw new Error('no picture today');
    return {};
  });
}

describe('describeJob', () => {
  it.each([
    ['finalize', { recording: { camera: 'g/rec.webm', screen: 'g/rec-2.webm' } }, 'g/rec', ['g/rec-2.webm', 'g/rec.webm']],
    ['composite', { recording: { screen: 'g/s.webm', base: 'g/lecture' } }, 'g/lecture', ['g/s.webm']],
    ['hls-vod', { input: 'g/rec.mp4', dir: 'g/rec.hls' }, 'g/rec', []],
    ['thumbnail', { input: 'g/rec.webm', output: 'a/b/rec.jpg' }, 'a/b/rec', []],
  ])('%s job data -> its recording', (name, data, base, files) => {
    const d = describeJob({ name, data });
    expect(d?.base).toBe(base);
    expect([...(d?.files ?? [])].sort()).toEqual(files);
  });

  it.each([
    ['finalize', { recording: {} }],
    ['finalize', null],
    ['hls-vod', { dir: 'g/rec' }],
    ['thumbnail', { output: 42 }],
    ['live-hls', { recording: { camera: 'x.webm' } }],
  ])('%s with unexpected data %j -> nothing', (name, data) => {
    expect(describeJob({ name, data })).toBeUndefined();
  });
});

describe('JobIndex on the real InProcessQueue', () => {
  it('follows a chain of jobs it never added to completion, and maps the files to the recording', async () => {
    queue = new InProcessQueue({ attempts: 1 });
    index = new JobIndex(queue);
    fakeChain(queue);
    await queue.add('finalize', { recording: { camera: 'g/rec.webm', screen: 'g/rec-screen.webm' } });
    await waitFor(() => index!.jobsOf('g/rec')['hls-vod']?.state === 'completed', 'hls-vod completed');
    await waitFor(() => index!.jobsOf('g/rec').thumbnail?.state === 'completed', 'thumbnail completed');
    const jobs = index.jobsOf('g/rec');
    for (const name of ['finalize', 'composite', 'hls-vod', 'thumbnail'] as const) {
      expect(jobs[name], name).toEqual({ state: 'completed', progress: 100 });
    }
    expect(index.baseOf('g/rec-screen.webm')).toBe('g/rec');
    expect(index.baseOf('g/rec.webm')).toBe('g/rec');
    expect(index.baseOf('g/other.webm')).toBeUndefined();
    expect(index.jobsOf('g/other')).toEqual({});
  });

  it('track() shows a job the server just added as waiting, then its progress', async () => {
    queue = new InProcessQueue({ attempts: 1 });
    index = new JobIndex(queue);
    const id = await queue.add('finalize', { recording: { camera: 'g/rec.webm' } });
    await index.track(id);
    expect(index.jobsOf('g/rec').finalize).toEqual({ state: 'waiting', progress: 0 });
    let open!: () => void;
    fakeChain(queue, { gate: new Promise<void>((r) => (open = r)) });
    await waitFor(() => index!.jobsOf('g/rec').finalize?.progress === 50, 'finalize at 50%');
    expect(index.jobsOf('g/rec').finalize?.state).toBe('active');
    open();
    await waitFor(() => index!.jobsOf('g/rec').finalize?.state === 'completed', 'finalize completed');
  });

  it('keeps the reason of a failed job', async () => {
    queue = new InProcessQueue({ attempts: 2, backoffMs: 1 });
    index = new JobIndex(queue);
    fakeChain(queue, { failThumbnail: true });
    await queue.add('finalize', { recording: { camera: 'g/rec.webm' } });
    await waitFor(() => index!.jobsOf('g/rec').thumbnail?.state === 'failed', 'thumbnail failed');
    expect(index.jobsOf('g/rec').thumbnail).toEqual({ state: 'failed', progress: 0, failedReason: 'no picture today' });
  });

  it('ignores jobs that are not egress jobs', async () => {
    queue = new InProcessQueue({ attempts: 1 });
    index = new JobIndex(queue);
    queue.process('live-hls', async (_d, ctx) => ctx.progress(20));
    await queue.add('live-hls', { group: 'g' });
    await new Promise((r) => setTimeout(r, 50));
    expect(index.size).toBe(0);
  });

  it('remembers at most maxRecordings, and forgets finished ones after forgetAfterMs', async () => {
    queue = new InProcessQueue({ attempts: 1 });
    let now = 0;
    index = new JobIndex(queue, { maxRecordings: 3, forgetAfterMs: 1000, now: () => now });
    queue.process('thumbnail', async () => ({}));
    for (let i = 0; i < 5; i++) {
      await queue.add('thumbnail', { input: `g/r${i}.webm`, output: `g/r${i}.jpg` });
      await waitFor(() => index!.jobsOf(`g/r${i}`).thumbnail?.state === 'completed', `r${i}`);
    }
    expect(index.size).toBe(3);
    expect(index.jobsOf('g/r0')).toEqual({});
    expect(index.jobsOf('g/r4').thumbnail?.state).toBe('completed');
    now = 5000;
    await queue.add('thumbnail', { input: 'g/new.webm', output: 'g/new.jpg' });
    await waitFor(() => index!.jobsOf('g/new').thumbnail?.state === 'completed', 'new');
    expect(index.size).toBe(1);
  });

  it('stops listening once closed', async () => {
    queue = new InProcessQueue({ attempts: 1 });
    index = new JobIndex(queue);
    index.close();
    index.close();
    queue.process('thumbnail', async () => ({}));
    const id = await queue.add('thumbnail', { input: 'g/a.webm', output: 'g/a.jpg' });
    await new Promise((r) => setTimeout(r, 30));
    expect((await queue.getJob(id))?.state).toBe('completed');
    expect(index.size).toBe(0);
  });
});

describe('JobIndex on BullMQ (a real Redis)', () => {
  let redis: TestRedis | undefined;
  const prefix = `lectern-test-jobindex-${randomUUID().slice(0, 8)}`;
  beforeAll(async () => {
    redis = await startTestRedis();
  }, 60_000);
  afterAll(async () => {
    await redis?.cleanUp(prefix);
  });

  it('follows a chain added and run by another queue client (another process), which it never saw added', async () => {
    // The server side: subscribes to the egress job names, runs nothing.
    const server = new BullMqQueue({ redis: redis!.url, prefix, names: [...EGRESS_JOBS], attempts: 1 });
    const idx = new JobIndex(server);
    // The worker side: its own connections; it adds the finalize job and chains the rest.
    const worker = new BullMqQueue({ redis: redis!.url, prefix, attempts: 1 });
    try {
      fakeChain(worker);
      // BullMQ's QueueEvents see events from the moment they are connected: warm up until a whole chain is seen.
      const allDone = (base: string) => EGRESS_JOBS.every((n) => idx.jobsOf(base)[n]?.state === 'completed');
      let warm = false;
      for (let i = 0; i < 20 && !warm; i++) {
        await worker.add('finalize', { recording: { camera: `g/warm-${i}.webm`, base: 'g/rec-warm' } });
        for (let k = 0; k < 40 && !warm; k++) {
          await new Promise((r) => setTimeout(r, 50));
          warm = allDone('g/rec-warm');
        }
      }
      expect(warm, 'a warm-up chain seen whole').toBe(true);
      await worker.add('finalize', { recording: { camera: 'g/rec.webm' } });
      await waitFor(() => {
        const j = idx.jobsOf('g/rec');
        return j['hls-vod']?.state === 'completed' && j.thumbnail?.state === 'completed';
      }, 'the chain seen from the server side');
      const jobs = idx.jobsOf('g/rec');
      for (const name of EGRESS_JOBS) expect(jobs[name]?.state, name).toBe('completed');
      expect(idx.baseOf('g/rec.webm')).toBe('g/rec');
    } finally {
      idx.close();
      await worker.close();
      await server.close();
    }
  }, 60_000);
});
