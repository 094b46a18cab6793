/**
 * A real Redis for tests: 127.0.0.1:6379 when it answers (this machine kind runs one), else a throwaway
 * redis-server on a free port, started here and stopped afterwards. Tests use their own key prefix and
 * delete their keys, so a shared Redis is left as it was found.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, Socket } from 'node:net';
import { Redis } from 'ioredis';
import { sleep } from './wait.js';

export function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(500);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('timeout', () => (s.destroy(), resolve(false)));
    s.once('error', () => resolve(false));
    s.connect(port, '127.0.0.1');
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server on `port` (no persistence unless asked); fails clearly when the binary is missing. */
export async function spawnRedis(port: number, opts: { persistIn?: string } = {}): Promise<ChildProcess> {
  // With persistIn, every write is in the append-only file before Redis answers: a kill loses nothing.
  const persistence = opts.persistIn
    ? ['--dir', opts.persistIn, '--appendonly', 'yes', '--appendfsync', 'always']
    : ['--appendonly', 'no'];
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence], {
    stdio: 'ignore',
  });
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('error', resolve);
    child.once('spawn', () => resolve(undefined));
  });
  if (spawned) throw new Error(`redis-server could not be started (is it installed?): ${spawned.message}`);
  for (let i = 0; i < 50; i++) {
    if (await portAnswers(port)) return child;
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`redis-server on port ${port} did not start`);
}

export async function stopRedis(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

export interface TestRedis {
  url: string;
  /** Deletes the keys that start with `prefix`, then stops the redis-server if this started one. */
  cleanUp(prefix: string): Promise<void>;
}

export async function startTestRedis(): Promise<TestRedis> {
  let child: ChildProcess | undefined;
  let url = 'redis://127.0.0.1:6379';
  if (!(await portAnswers(6379))) {
    const port = await freePort();
    child = await spawnRedis(port);
    url = `redis://127.0.0.1:${port}`;
  }
  return {
    url,
    async cleanUp(prefix) {
      const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await redis.connect();
      let cursor = '0';
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        cursor = next;
        if (batch.length > 0) await redis.del(...batch);
      } while (cursor !== '0');
      redis.disconnect();
      if (child) await stopRedis(child);
    },
  };
}
