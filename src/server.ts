import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serverConfigReader } from './config/loadConfig.js';
import { GroupStore } from './config/GroupStore.js';
import { readIceServers } from './config/iceServers.js';
import type { IceOptions } from './forward/types.js';
import { GroupRegistry } from './group/GroupRegistry.js';
import type { Logger } from './log.js';
import { SignalServer } from './signal/wsServer.js';
import { createApp, requestBase } from './web/app.js';
import { collectStats } from './web/stats.js';
import { loadOrCreateCertificate } from './web/tls.js';

export interface ServerOptions {
  host: string | undefined;
  port: number;
  insecure: boolean;
  dataDir: string;
  groupsDir: string;
  recordingsDir: string;
  staticDir: string | undefined;
  ice: IceOptions;
  log: Logger;
}

export interface LecternServer {
  /** The bound address, e.g. to find the port when listening on port 0. */
  readonly address: AddressInfo;
  readonly url: string;
  close(): Promise<void>;
}

/** Wires configuration, groups, the signalling server and the web app, and starts listening. */
export async function startServer(opts: ServerOptions): Promise<LecternServer> {
  const { log } = opts;
  const serverConfig = serverConfigReader(opts.dataDir, log.child({ component: 'config' }));
  const store = new GroupStore({ groupsDir: opts.groupsDir, log: log.child({ component: 'groups' }) });
  store.load();
  for (const err of store.errors()) log.error({ file: err.file, key: err.key }, err.message);
  fs.mkdirSync(opts.recordingsDir, { recursive: true });

  const registry = new GroupRegistry(store, log.child({ component: 'registry' }), () => serverConfig().canonicalHost);
  const iceServersFile = path.join(opts.dataDir, 'ice-servers.json');
  const signal = new SignalServer({
    allowOrigin: () => serverConfig().allowOrigin ?? [],
    baseUrl: (req) =>
      requestBase({ protocol: opts.insecure ? 'http' : 'https', headers: req.headers }, serverConfig().proxyURL),
    deps: {
      registry,
      media: { ice: opts.ice, rtcConfiguration: () => ({ iceServers: readIceServers(iceServersFile, log) }) },
      log: log.child({ component: 'session' }),
    },
    log,
  });
  const app = createApp({
    registry,
    staticDir: opts.staticDir,
    proxyURL: () => serverConfig().proxyURL,
    admins: () => serverConfig().users ?? {},
    stats: () => collectStats(registry),
    log,
  });

  let server: http.Server;
  if (opts.insecure) {
    server = http.createServer(app);
  } else {
    const { cert, key, generated } = await loadOrCreateCertificate(opts.dataDir);
    if (generated) log.warn({ dataDir: opts.dataDir }, 'generated a self-signed certificate');
    server = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, app);
  }
  signal.attach(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${opts.insecure ? 'http' : 'https'}://${host}:${address.port}`;
  log.info({ url }, 'Lectern is listening');

  let closing: Promise<void> | undefined;
  return {
    address,
    url,
    close: () =>
      (closing ??= (async () => {
        signal.close();
        registry.close();
        store.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}
