import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { serverConfigReader } from './config/loadConfig.js';
import { GroupStore } from './config/GroupStore.js';
import { mintIceServers, readIceServers, rtcConfiguration } from './config/iceServers.js';
import { createEgress } from './egress/egress.js';
import { LiveHlsController } from './egress/live/LiveHlsController.js';
import { LecternError } from './errors.js';
import { ForwardPool } from './forward/threads/ForwardPool.js';
import type { IceOptions } from './forward/types.js';
import { installWeriftFixes } from './forward/weriftFixes.js';
import { GroupRegistry } from './group/GroupRegistry.js';
import { TokenStore } from './group/tokens/TokenStore.js';
import type { Logger } from './log.js';
import { HttpMediaEndpoints } from './signal/http-media/HttpMediaEndpoints.js';
import { SignalServer } from './signal/wsServer.js';
import { createApp, requestBase } from './web/app.js';
import { GroupFileEditor } from './web/admin/GroupFileEditor.js';
import { collectStats } from './web/stats.js';
import { loadOrCreateCertificate } from './web/tls.js';
import { ServerMetrics } from './web/metrics/ServerMetrics.js';
import { EventBus } from './webhooks/events.js';
import { WebhookDispatcher } from './webhooks/WebhookDispatcher.js';
import { BuiltinTurn, type TurnSetting } from './turn/builtinTurn.js';

export interface ServerOptions {
  host: string | undefined;
  port: number;
  insecure: boolean;
  dataDir: string;
  groupsDir: string;
  recordingsDir: string;
  staticDir: string | undefined;
  /** Redis for the job queue (BullMQ; workers run the jobs); without it jobs run in this process. */
  redis?: string | undefined;
  ffmpegPath?: string | undefined;
  ice: IceOptions;
  /** Worker threads for the viewers' connections (forward/threads/); 0 or undefined: the main thread. */
  forwardThreads?: number | undefined;
  /** Galène's -turn (default auto: only with a public address and no data/ice-servers.json). */
  turn?: TurnSetting | undefined;
  /** The log level, for the forwarding threads' own loggers. */
  logLevel?: string | undefined;
  log: Logger;
  /** Told, in plain words, of what an administrator must fix (an invalid group file); main.ts: stderr. */
  report?: (text: string) => void;
}

export interface LecternServer {
  /** The bound address, e.g. to find the port when listening on port 0. */
  readonly address: AddressInfo;
  readonly url: string;
  close(): Promise<void>;
}

/** Wires configuration, groups, the signalling server and the web app, and starts listening. */
export async function startServer(opts: ServerOptions): Promise<LecternServer> {
  installWeriftFixes(); // native X25519, keys parsed once, peer signatures checked, packet guards (forward/weriftFixes.ts)
  const { log } = opts;
  const serverConfig = serverConfigReader(opts.dataDir, log.child({ component: 'config' }));
  fs.mkdirSync(opts.groupsDir, { recursive: true }); // on first start: where the administrator puts group files
  const store = new GroupStore({ groupsDir: opts.groupsDir, log: log.child({ component: 'groups' }), report: opts.report });
  store.load();
  fs.mkdirSync(opts.recordingsDir, { recursive: true, mode: 0o700 });

  const forwardPool = opts.forwardThreads
    ? new ForwardPool(opts.forwardThreads, opts.ice, opts.logLevel ?? 'info', log.child({ component: 'forward' }))
    : undefined;
  const events = new EventBus(log.child({ component: 'events' }));
  const webhooks = new WebhookDispatcher(events, {
    endpoints: () => serverConfig().webhooks ?? [],
    log: log.child({ component: 'webhooks' }),
  });
  const tokens = new TokenStore({ file: path.join(opts.dataDir, 'var', 'tokens.jsonl'), log });
  const registry = new GroupRegistry(
    store,
    log.child({ component: 'registry' }),
    () => serverConfig().canonicalHost,
    tokens,
    events,
  );
  const iceServersFile = path.join(opts.dataDir, 'ice-servers.json');
  const turn = new BuiltinTurn({
    setting: opts.turn ?? { mode: 'auto' },
    hostAddresses: opts.ice.hostAddresses,
    portRange: opts.ice.portRange,
    iceServersFile,
    log: log.child({ component: 'turn' }),
  });
  // What clients are given: data/ice-servers.json's servers, then the built-in TURN server (as Galène).
  const clientIceServers = (clientId?: string) => [...mintIceServers(readIceServers(iceServersFile, log), clientId), ...turn.iceServers(clientId)];
  const egress = createEgress({
    recordingsDir: opts.recordingsDir,
    log,
    ...(opts.redis ? { redis: opts.redis } : {}),
    ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}),
    carryOverFile: path.join(opts.dataDir, 'var', 'unfinished-jobs.json'),
    events,
    liveIce: () => ({
      iceServers: mintIceServers(readIceServers(iceServersFile, log)),
      ...(opts.ice.hostAddresses ? { hostAddresses: opts.ice.hostAddresses } : {}),
    }),
  });
  let listeningUrl = '';
  const liveHls = new LiveHlsController({
    queue: egress.queue,
    events,
    registry,
    tokens,
    baseUrl: () => serverConfig().proxyURL ?? listeningUrl,
    log: log.child({ component: 'live-hls' }),
  });
  const metrics = new ServerMetrics({ registry, recorder: egress.recorder, jobStats: egress.jobStats, webhooks, forwardPool });
  const signal = new SignalServer({
    allowOrigin: () => serverConfig().allowOrigin ?? [],
    baseUrl: (req) =>
      requestBase({ protocol: opts.insecure ? 'http' : 'https', headers: req.headers }, serverConfig().proxyURL),
    deps: {
      registry,
      recorder: egress.recorder,
      media: {
        ice: opts.ice,
        forwardPool,
        rtcConfiguration: (clientId) => rtcConfiguration(clientIceServers(clientId), { relayOnly: serverConfig().relayOnly ?? false }),
      },
      observeJoin: (seconds) => metrics.observeJoin(seconds),
      log: log.child({ component: 'session' }),
    },
    log,
  });
  const httpMedia = new HttpMediaEndpoints({
    registry,
    ice: opts.ice,
    iceServers: () => clientIceServers(),
    allowOrigin: () => serverConfig().allowOrigin ?? [],
    log: log.child({ component: 'http-media' }),
  });
  const app = createApp({
    httpMedia,
    registry,
    staticDir: opts.staticDir,
    proxyURL: () => serverConfig().proxyURL,
    admins: () => serverConfig().users ?? {},
    stats: () => collectStats(registry),
    recordings: {
      dir: opts.recordingsDir,
      describe: (g) => store.resolve(g),
      jobs: egress.jobs,
      ...(opts.ffmpegPath ? { ffmpegPath: opts.ffmpegPath } : {}),
    },
    adminApi: {
      admins: () => serverConfig().users ?? {},
      group: (name) => store.get(name),
      tokens,
      canonicalHost: () => serverConfig().canonicalHost,
      files: new GroupFileEditor(opts.groupsDir, () => serverConfig().writableGroups, () => store.load()),
      stats: () => collectStats(registry),
      allowAdminOrigin: () => serverConfig().allowAdminOrigin,
      log: log.child({ component: 'admin-api' }),
    },
    hls: {
      dir: opts.recordingsDir,
      describe: (g) => store.resolve(g),
      tokens,
      canonicalHost: () => serverConfig().canonicalHost,
      allowOrigin: () => serverConfig().allowOrigin ?? [],
      log: log.child({ component: 'hls' }),
    },
    metrics: {
      token: () => serverConfig().metricsToken,
      text: () => metrics.text(),
      contentType: metrics.contentType,
      log: log.child({ component: 'metrics' }),
    },
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
    server.once('error', (err) => reject(listenError(err, opts.host, opts.port)));
    server.listen(opts.port, opts.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${opts.insecure ? 'http' : 'https'}://${host}:${address.port}`;
  log.info({ url }, 'Lectern is listening');
  await turn.update();
  // Workers reach this server at proxyURL when set; otherwise at the bound address (loopback if it is a wildcard).
  listeningUrl = `${opts.insecure ? 'http' : 'https'}://${['0.0.0.0', '::'].includes(address.address) ? '127.0.0.1' : host}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    address,
    url,
    close: () =>
      (closing ??= (async () => {
        // No new connections from here on; the open ones end below.
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        liveHls.close();
        // Recordings are finished (and their jobs kept) while their publishers are still connected.
        await egress.close();
        await webhooks.close();
        signal.close(); // every client is told: WebSocket close 1001 "server shutting down"
        await forwardPool?.close();
        httpMedia.close();
        await turn.close();
        registry.close();
        store.close();
        tokens.close();
        server.closeAllConnections();
        await stopped;
      })()),
  };
}

/** A failed listen, in one line that says what to do. */
function listenError(err: NodeJS.ErrnoException, host: string | undefined, port: number): LecternError {
  const where = `${host ?? '*'}:${port}`;
  const why: Record<string, string> = {
    EADDRINUSE: `${where} is already in use (another server is listening there; choose another with --http)`,
    EACCES: `no permission to listen on ${where} (ports below 1024 need privileges)`,
    EADDRNOTAVAIL: `${host ?? '*'} is not an address of this machine`,
  };
  return new LecternError('listen-failed', `cannot listen: ${why[err.code ?? ''] ?? `${where}: ${err.message}`}`, { cause: err });
}
