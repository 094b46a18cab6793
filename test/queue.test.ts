/**
 * The JobQueue contract, run against both backends: InProcessQueue and BullMqQueue over a real Redis
 * (127.0.0.1:6379 when it answers, else a redis-server started here on a free port and stopped afterwards).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LecternError } from '../src/errors.js';
import {
  BullMqQueue,
  InProcessQueue,
  createJobQueue,
  type JobEvent,
  type JobInfo,
  type JobQueue,
} from '../src/egress/queue/index.js';
import { freePort, spawnRedis, startTestRedis, stopRedis, type TestRedis } from './helpers/redis.js';
import { sleep } from './helpers/wait.js';

let redisUrl = '';
const runId = randomUUID().slice(0, 8);
let prefixes = 0;
const testPrefix = () => `lectern-test-${runId}-${++prefixes}`;

let testRedis: TestRedis;

beforeAll(async () => {
  testRedis = await startTestRedis();
  redisUrl = testRedis.url;
});

// Leave nothing behind in a shared Redis.
afterAll(() => testRedis?.cleanUp(`lectern-test-${runId}-`));


async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

async function settled(q: JobQueue, id: string): Promise<JobInfo> {
  return waitFor(`job ${id} to settle`, async () => {
    const j = await q.getJob(id);
    return j && (j.state === 'completed' || j.state === 'failed') ? j : undefined;
  });
}

type Make = (opts: { attempts?: number; backoffMs?: number }) => JobQueue;

const backends: [string, Make][] = [
  ['InProcessQueue', (o) => new InProcessQueue(o)],
  ['BullMqQueue', (o) => new BullMqQueue({ redis: redisUrl, prefix: testPrefix(), ...o })],
];

describe.each(backends)('JobQueue contract: %s', (_name, make) => {
  const open: JobQueue[] = [];
  const queue: Make = (o) => {
    const q = make(o);
    open.push(q);
    return q;
  };
  afterEach(async () => {
    await Promise.all(open.splice(0).map((q) => q.close()));
  });

  it('runs a job to completion with its result', async () => {
    const q = queue({});
    const events: JobEvent[] = [];
    q.onEvent((e) => events.push(e));
    q.process<{ a: number; b: number }, { sum: number }>('add', async (d) => ({ sum: d.a + d.b }));
    const id = await q.add('add', { a: 2, b: 3 });
    const job = await settled(q, id);
    expect(job).toMatchObject({ id, name: 'add', state: 'completed', result: { sum: 5 }, attemptsMade: 1 });
    await waitFor('completed event', () => events.find((e) => e.type === 'completed' && e.id === id));
    expect(events.find((e) => e.type === 'completed')).toMatchObject({ result: { sum: 5 } });
  });

  it('reports progress', async () => {
    const q = queue({});
    const seen: number[] = [];
    q.onEvent((e) => {
      if (e.type === 'progress') seen.push(e.progress);
    });
    q.process('work', async (_d, ctx) => {
      for (const p of [25, 50, 75, 100]) {
        ctx.progress(p);
        await sleep(30);
      }
      return 'ok';
    });
    const id = await q.add('work', {});
    const job = await settled(q, id);
    expect(job.progress).toBe(100);
    await waitFor('progress 100', () => seen.includes(100));
    expect(seen).toEqual([25, 50, 75, 100]);
  });

  it('retries a throwing handler with exponential backoff and ends failed with the reason', async () => {
    const q = queue({ attempts: 3, backoffMs: 100 });
    const starts: number[] = [];
    const attempts: number[] = [];
    const failed: JobEvent[] = [];
    q.onEvent((e) => {
      if (e.type === 'failed') failed.push(e);
    });
    q.process('boom', async (_d, ctx) => {
      starts.push(Date.now());
      attempts.push(ctx.attempt);
      throw new Error(`ffmpeg said no (try ${ctx.attempt})`);
    });
    const id = await q.add('boom', {});
    const job = await settled(q, id);
    expect(job.state).toBe('failed');
    expect(job.failedReason).toBe('ffmpeg said no (try 3)');
    expect(job.attemptsMade).toBe(3);
    expect(attempts).toEqual([1, 2, 3]);
    const [t0, t1, t2] = starts as [number, number, number];
    expect(t1 - t0).toBeGreaterThanOrEqual(90); // 100 ms
    expect(t2 - t1).toBeGreaterThanOrEqual(190); // 200 ms: the delay doubles
    await waitFor('failed event', () => failed.length > 0 || undefined);
    await sleep(100);
    expect(failed).toEqual([{ type: 'failed', id, name: 'boom', reason: 'ffmpeg said no (try 3)' }]);
  });

  it('completes a job that fails once and then succeeds', async () => {
    const q = queue({ attempts: 3, backoffMs: 20 });
    q.process('flaky', async (_d, ctx) => {
      if (ctx.attempt === 1) throw new Error('transient');
      return { attempt: ctx.attempt };
    });
    const id = await q.add('flaky', {});
    const job = await settled(q, id);
    expect(job).toMatchObject({ state: 'completed', result: { attempt: 2 }, attemptsMade: 2 });
  });

  it('respects per-add attempts', async () => {
    const q = queue({ attempts: 3, backoffMs: 20 });
    let runs = 0;
    q.process('once', async () => {
      runs++;
      throw new Error('nope');
    });
    const job = await settled(q, await q.add('once', {}, { attempts: 1 }));
    expect(job).toMatchObject({ state: 'failed', failedReason: 'nope', attemptsMade: 1 });
    expect(runs).toBe(1);
  });

  it('respects concurrency', async () => {
    const q = queue({});
    let active = 0;
    let peak = 0;
    q.process(
      'slow',
      async (d: { i: number }) => {
        active++;
        peak = Math.max(peak, active);
        await sleep(150);
        active--;
        return d.i;
      },
      { concurrency: 2 },
    );
    const ids = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => q.add('slow', { i })));
    const jobs = await Promise.all(ids.map((id) => settled(q, id)));
    expect(jobs.map((j) => j.result)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(peak).toBe(2);
  });

  it('reports waiting jobs and unknown ids', async () => {
    const q = queue({});
    const id = await q.add('nobody-listens', { x: 1 });
    expect(await q.getJob(id)).toMatchObject({ id, name: 'nobody-listens', state: 'waiting', progress: 0, attemptsMade: 0 });
    expect(await q.getJob('nobody-listens:999999')).toBeUndefined();
    expect(await q.getJob('garbage')).toBeUndefined();
  });

  it('close() aborts running handlers, waits for them, and is idempotent', async () => {
    const q = queue({ attempts: 1 });
    let started = false;
    let finished = false;
    let abortedWith: unknown;
    q.process('long', async (_d, ctx) => {
      started = true;
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 30_000);
        ctx.signal.addEventListener('abort', () => (clearTimeout(t), resolve()));
      });
      abortedWith = ctx.signal.reason;
      finished = true;
      throw ctx.signal.reason;
    });
    await q.add('long', {});
    await waitFor('handler start', () => started || undefined);
    const t0 = Date.now();
    await Promise.all([q.close('test over'), q.close()]);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(finished).toBe(true);
    expect(abortedWith).toBeInstanceOf(Error);
    await q.close();
    await expect(q.add('long', {})).rejects.toMatchObject({ code: 'queue-unavailable' });
  });
});

describe('createJobQueue', () => {
  it('picks InProcessQueue without Redis and BullMqQueue with a URL', async () => {
    const a = createJobQueue({});
    const b = createJobQueue({ redis: redisUrl, prefix: testPrefix() });
    expect(a).toBeInstanceOf(InProcessQueue);
    expect(b).toBeInstanceOf(BullMqQueue);
    await Promise.all([a.close(), b.close()]);
  });
});

describe('BullMqQueue with Redis unreachable', () => {
  it('add rejects with queue-unavailable within a bounded time, and nothing crashes', async () => {
    const port = await freePort(); // nothing listens there
    const crashes: unknown[] = [];
    const onCrash = (err: unknown) => crashes.push(err);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    const q = new BullMqQueue({ redis: `redis://127.0.0.1:${port}`, prefix: 'lectern-down', addTimeoutMs: 1500, closeTimeoutMs: 500 });
    try {
      q.process('x', async () => 1);
      const t0 = Date.now();
      const err = await q.add('x', {}).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(LecternError);
      expect((err as LecternError).code).toBe('queue-unavailable');
      expect(Date.now() - t0).toBeLessThan(3000);
      await sleep(500); // let reconnect attempts and their errors happen
    } finally {
      const t1 = Date.now();
      await q.close();
      expect(Date.now() - t1).toBeLessThan(5000);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    }
    expect(crashes).toEqual([]);
  });
});

describe('BullMqQueue across a Redis outage', () => {
  it('rejects adds while Redis is down and works again when it is back, without a crash', async () => {
    const port = await freePort();
    let redis = await spawnRedis(port);
    const crashes: unknown[] = [];
    const onCrash = (err: unknown) => crashes.push(err);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    const q = new BullMqQueue({ redis: `redis://127.0.0.1:${port}`, prefix: testPrefix(), addTimeoutMs: 1000, backoffMs: 50 });
    try {
      q.process('survive', async (d: { n: number }) => d.n * 2);
      expect(await settled(q, await q.add('survive', { n: 1 }))).toMatchObject({ state: 'completed', result: 2 });

      await stopRedis(redis);
      await expect(q.add('survive', { n: 2 })).rejects.toMatchObject({ code: 'queue-unavailable' });
      await sleep(300);

      redis = await spawnRedis(port);
      const id = await waitFor('add to work again', () => q.add('survive', { n: 3 }).catch(() => undefined), 15_000);
      expect(await settled(q, id)).toMatchObject({ state: 'completed', result: 6 });
    } finally {
      await q.close();
      await stopRedis(redis);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
    }
    expect(crashes).toEqual([]);
  });
});

describe('BullMqQueue across a Redis restart', () => {
  it('jobs queued and running while Redis restarts all complete: none is lost', async () => {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), 'lectern-redis-'));
    let redis = await spawnRedis(port, { persistIn: dir });
    const q = new BullMqQueue({ redis: `redis://127.0.0.1:${port}`, prefix: testPrefix(), addTimeoutMs: 1000, backoffMs: 50 });
    const ran: number[] = [];
    try {
      q.process<{ n: number }, number>('restart', async (d) => {
        ran.push(d.n);
        await sleep(1000);
        return d.n * 10;
      });
      const ids = [];
      for (const n of [1, 2, 3]) ids.push(await q.add('restart', { n }));
      await waitFor('the first job to start', () => ran.length > 0 || undefined);

      await stopRedis(redis); // SIGKILL, mid-job
      await sleep(300);
      redis = await spawnRedis(port, { persistIn: dir });

      for (const [i, id] of ids.entries()) {
        expect(await waitFor(`job ${i + 1} to complete`, async () => {
          const j = await q.getJob(id).catch(() => undefined);
          return j?.state === 'completed' ? j : undefined;
        }, 90_000)).toMatchObject({ result: (i + 1) * 10 });
      }
    } finally {
      await q.close();
      await stopRedis(redis);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
