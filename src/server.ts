import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import express from 'express';
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
import { loadOrCreateCertificate, watchCertificate } from './web/tls.js';
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
  /** Galène's -relay-only (config.json's relayOnly does the same). */
  relayOnly?: boolean | undefined;
  /** Worker threads for the viewers' connections (forward/threads/); 0 or undefined: the main thread. */
  forwardThreads?: number | undefined;
  /** Galène's -turn (default auto: only with a public address and no data/ice-servers.json). */
  turn?: TurnSetting | undefined;
  /** The log level, for the forwarding threads' own loggers. */
  logLevel?: string | undefined;
  /**
   * A second, plain-HTTP listener for egress workers (`--internal-http`): it serves only WHEP, and only to a
   * request with a Bearer token (the live job's own stateful token, checked by the join). Live jobs are then
   * given `url` (default: the listener's bound address) instead of proxyURL: no certificate to verify on a
   * private network such as compose's.
   */
  internal?: { host: string | undefined; port: number; url?: string };
  log: Logger;
  /** Told, in plain words, of what an administrator must fix (an invalid group file); main.ts: stderr. */
  report?: (text: string) => void;
}

export interface LecternServer {
  /** The bound address, e.g. to find the port when listening on port 0. */
  readonly address: AddressInfo;
  readonly url: string;
  /** The internal listener's URL (`--internal-http`), when there is one. */
  readonly internalUrl: string | undefined;
  close(): Promise<void>;
}

/** Wires configuration, groups, the signalling server and the web app, and starts listening. */
export async function startServer(opts: ServerOptions): Promise<LecternServer> {
  installWeriftFixes(); // native X25519, keys parsed once, peer signatures checked, packet guards (forward/weriftFixes.ts)
  const { log } = opts;
  const serverConfig = serverConfigReader(opts.dataDir, log.child({ component: 'config' }));
  // NAT 1:1: --public-address, else config.json's publicAddresses (read once, at start).
  const configured = serverConfig().publicAddresses;
  const ice: IceOptions = {
    ...opts.ice,
    ...(opts.ice.publicAddresses?.length ? {} : configured?.length ? { publicAddresses: [...configured] } : {}),
  };
  if (ice.publicAddresses?.length) log.info({ publicAddresses: ice.publicAddresses }, 'announcing public addresses in ICE candidates');
  fs.mkdirSync(opts.groupsDir, { recursive: true }); // on first start: where the administrator puts group files
  const store = new GroupStore({ groupsDir: opts.groupsDir, log: log.child({ component: 'groups' }), report: opts.report });
  store.load();
  fs.mkdirSync(opts.recordingsDir, { recursive: true, mode: 0o700 });

  const forwardPool = opts.forwardThreads
    ? new ForwardPool(opts.forwardThreads, ice, opts.logLevel ?? 'info', log.child({ component: 'forward' }))
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
  let internalUrl = '';
  const liveHls = new LiveHlsController({
    queue: egress.queue,
    events,
    registry,
    tokens,
    baseUrl: () => internalUrl || (serverConfig().proxyURL ?? listeningUrl),
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
        ice,
        forwardPool,
        rtcConfiguration: (clientId) =>
          rtcConfiguration(clientIceServers(clientId), { relayOnly: (opts.relayOnly ?? false) || (serverConfig().relayOnly ?? false) }),
      },
      observeJoin: (seconds) => metrics.observeJoin(seconds),
      log: log.child({ component: 'session' }),
    },
    log,
  });
  const httpMedia = new HttpMediaEndpoints({
    registry,
    ice,
    iceServers: () => clientIceServers(),
    allowOrigin: () => serverConfig().allowOrigin ?? [],
    log: log.child({ component: 'http-media' }),
  });
  let closing: Promise<void> | undefined;
  const app = createApp({
    health: {
      queue: () => ({ kind: opts.redis ? 'redis' : 'in-process', state: closing ? 'closing' : 'running' }),
      redis: opts.redis,
      recordingsDir: opts.recordingsDir,
    },
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
  let unwatchCertificate = () => {};
  if (opts.insecure) {
    server = http.createServer(app);
  } else {
    const { cert, key, generated } = await loadOrCreateCertificate(opts.dataDir);
    if (generated) log.warn({ dataDir: opts.dataDir }, 'generated a self-signed certificate');
    const httpsServer = https.createServer({ cert, key, minVersion: 'TLSv1.2' }, app);
    unwatchCertificate = watchCertificate(opts.dataDir, httpsServer, log.child({ component: 'tls' }), { minVersion: 'TLSv1.2' });
    server = httpsServer;
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

  let internal: http.Server | undefined;
  if (opts.internal) {
    const { host: iHost, port: iPort, url: iUrl } = opts.internal;
    internal = http.createServer(internalApp(httpMedia));
    await new Promise<void>((resolve, reject) => {
      internal!.once('error', (err) => reject(listenError(err, iHost, iPort)));
      internal!.listen(iPort, iHost, () => resolve());
    });
    const a = internal.address() as AddressInfo;
    const h = ['0.0.0.0', '::'].includes(a.address) ? '127.0.0.1' : a.family === 'IPv6' ? `[${a.address}]` : a.address;
    internalUrl = (iUrl ?? `http://${h}:${a.port}`).replace(/\/+$/, '');
    log.info({ address: `${a.address}:${a.port}`, url: internalUrl }, 'internal listener for workers (WHEP with job tokens only)');
  }

  return {
    address,
    url,
    internalUrl: internalUrl || undefined,
    close: () =>
      (closing ??= (async () => {
        // No new connections from here on; the open ones end below.
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        internal?.close();
        internal?.closeAllConnections();
        unwatchCertificate();
        liveHls.close();
        // Recordings are finished (and their jobs kept) while their publishers are still connected.
        await egress.close();
        await webhooks.close();
        signal.close(); // every client is told: a warning "The server is shutting down", then WebSocket close 1001
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

/** The internal listener's app: WHEP paths with a Bearer token, and nothing else (no pages, no admin API). */
function internalApp(httpMedia: HttpMediaEndpoints): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.use((req, res, next) => {
    const path = req.originalUrl.split('?')[0] ?? '';
    if (!/^\/group\/.+\/\.whep(\/[^/]*)?\/?$/.test(path)) return void res.status(404).type('text/plain').send('not found: this listener serves only WHEP to workers\n');
    if (!/^Bearer \S+$/i.test(req.headers.authorization ?? '')) {
      return void res.status(401).setHeader('WWW-Authenticate', 'Bearer').type('text/plain').send("not authorised: a job's Bearer token is required\n");
    }
    next();
  });
  app.use(httpMedia.handle);
  return app;
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
