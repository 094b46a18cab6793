import { afterAll, describe, expect, it } from 'vitest';
import { freePort, spawnRedis, stopRedis } from './helpers/redis.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';

const servers: TestServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.stop();
});

async function get(server: TestServer, path: string) {
  const res = await fetch(new URL(path, server.url));
  return { status: res.status, type: res.headers.get('content-type') ?? '', text: await res.text() };
}

describe('/healthz and /readyz', () => {
  it('an in-process server is alive and ready, without credentials', async () => {
    const server = await startTestServer();
    servers.push(server);
    expect(await get(server, '/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
    const ready = await get(server, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.text)).toEqual({
      ready: true,
      queue: { kind: 'in-process', state: 'running' },
      recordings: { writable: true },
      reasons: [],
    });
  });

  it('with --redis at a reachable Redis, ready; at a closed port, 503 with the reason while /healthz stays 200', async () => {
    const port = await freePort();
    const redis = await spawnRedis(port); // its own, so that no key is left in a shared one
    try {
      const up = await startTestServer({ redis: `redis://127.0.0.1:${port}` });
      const ok = JSON.parse((await get(up, '/readyz')).text);
      await up.stop();
      expect(ok).toMatchObject({ ready: true, queue: { kind: 'redis', state: 'running' }, redis: { reachable: true } });
    } finally {
      await stopRedis(redis);
    }

    const closed = await freePort();
    const down = await startTestServer({ redis: `redis://127.0.0.1:${closed}` });
    servers.push(down);
    const r = await get(down, '/readyz');
    expect(r.status).toBe(503);
    const body = JSON.parse(r.text);
    expect(body.ready).toBe(false);
    expect(body.redis.reachable).toBe(false);
    expect(body.reasons).toEqual([expect.stringMatching(/^Redis is unreachable: .*ECONNREFUSED/)]);
    expect(await get(down, '/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
  });
});
