/**
 * The web app with only what `/recordings/` needs — a GroupStore over `groupsDir`, an in-process queue running
 * the real egress jobs (one attempt), its JobIndex — listening on a free loopback port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { GroupStore } from '../../src/config/GroupStore.js';
import { registerEgressJobs } from '../../src/egress/jobs/index.js';
import { JobIndex } from '../../src/egress/jobs/jobIndex.js';
import { InProcessQueue } from '../../src/egress/queue/index.js';
import { GroupRegistry } from '../../src/group/GroupRegistry.js';
import { silentLogger } from '../../src/log.js';
import { createApp } from '../../src/web/app.js';

export interface RecordingsApp {
  url: string;
  port: number;
  store: GroupStore;
  queue: InProcessQueue;
  index: JobIndex;
  close(): Promise<void>;
}

export async function startRecordingsApp(groupsDir: string, recordingsDir: string): Promise<RecordingsApp> {
  const store = new GroupStore({ groupsDir, log: silentLogger, pollMs: 0 });
  store.load();
  const queue = new InProcessQueue({ attempts: 1 });
  const index = new JobIndex(queue);
  registerEgressJobs(queue, { recordingsDir });
  const app = createApp({
    registry: new GroupRegistry(store, silentLogger),
    staticDir: undefined,
    proxyURL: () => undefined,
    admins: () => ({}),
    stats: () => [],
    log: silentLogger,
    recordings: { dir: recordingsDir, describe: (g) => store.resolve(g), jobs: index },
  });
  const server = http.createServer(app);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    store,
    queue,
    index,
    close: async () => {
      index.close();
      await queue.close();
      await new Promise<void>((r) => server.close(() => r()));
      store.close();
    },
  };
}
