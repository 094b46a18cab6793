import express, { type Request, type Response } from 'express';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GroupRegistry } from '../group/GroupRegistry.js';
import type { HttpMediaEndpoints } from '../signal/http-media/HttpMediaEndpoints.js';
import type { Logger } from '../log.js';
import type { AdminUsers } from './adminAuth.js';
import { createAdminApi, type AdminApiDeps } from './admin/router.js';
import { parseGroupPath } from './groupPath.js';
import { readiness, type HealthDeps } from './health.js';
import { hlsHandler, type HlsDeps } from './hls/router.js';
import { placeholderPage } from './placeholder.js';
import { recordingsRouter, type RecordingsDeps } from './recordings/index.js';
import type { GroupStats } from './stats.js';
import { metricsHandler, type MetricsRouteDeps } from './metrics/metricsRoute.js';

export interface AppDeps {
  registry: GroupRegistry;
  /** A folder of client files; when it holds Galène's galene.html, group pages serve that client. */
  staticDir: string | undefined;
  /** config.json's public base URL, if any. */
  proxyURL(): string | undefined;
  admins(): AdminUsers;
  stats(): GroupStats[];
  /** The admin API's dependencies; without them /galene-api/ answers 404. */
  adminApi?: AdminApiDeps;
  log: Logger;
  /** WHIP and WHEP under /group/<g>/.whip and .whep (src/signal/http-media). */
  httpMedia?: Pick<HttpMediaEndpoints, 'handle'>;
  /** The recordings folder, group descriptions and job states; without it, /recordings/ answers 404. */
  recordings?: RecordingsDeps;
  /** GET /metrics (Prometheus); without it, /metrics answers 404. */
  metrics?: MetricsRouteDeps;
  /** The live HLS feed under /group/<g>/.hls/ (src/web/hls); without it, those paths are group 404s. */
  hls?: HlsDeps;
  /** /readyz's checks; without them /readyz answers 404 (/healthz is always there). */
  health?: HealthDeps;
}

/** The base URL a request reached us at: config.json's proxyURL, else the request's scheme and Host. */
export function requestBase(req: { protocol?: string; headers: { host?: string } }, proxyURL?: string): URL {
  if (proxyURL) return new URL(proxyURL);
  const secure = req.protocol === 'https';
  return new URL(`${secure ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}/`);
}

/** Lectern's own client, bundled by src/web/client/build.ts (`npm run build:client`). */
const LECTERN_CLIENT_DIR = fileURLToPath(new URL('../../dist/client/', import.meta.url));

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  const clientPage = (): string | undefined => {
    if (!deps.staticDir) return undefined;
    const file = path.join(deps.staticDir, 'galene.html');
    return fs.existsSync(file) ? file : undefined;
  };

  // Liveness: no auth, nothing looked at; readiness: the queue, Redis and the recordings folder (health.ts).
  app.get('/healthz', (_req, res) => void res.set('Cache-Control', 'no-store').type('text/plain').send('ok\n'));
  if (deps.health) {
    const health = deps.health;
    app.get('/readyz', async (_req, res) => {
      const r = await readiness(health);
      res.set('Cache-Control', 'no-store').status(r.ready ? 200 : 503).json(r);
    });
  }

  app.get('/public-groups.json', (req, res) => {
    const base = requestBase(req, deps.proxyURL());
    res.set('Cache-Control', 'no-cache');
    res.json(deps.registry.publicGroups().map((g) => g.status(false, base)));
  });

  if (deps.httpMedia) app.use(deps.httpMedia.handle);
  if (deps.metrics) app.get('/metrics', metricsHandler(deps.metrics));

  if (deps.hls) app.use('/group/', hlsHandler(deps.hls));
  app.use('/group/', (req: Request, res: Response, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    const raw = req.originalUrl.slice('/group/'.length).split('?')[0] ?? '';
    const parsed = parseGroupPath(raw);
    if (!parsed) return void res.status(404).type('text/plain').send('no such group\n');
    const group = deps.registry.get(parsed.group);
    if (!group && deps.registry.fileError(parsed.group)) {
      // the file's problems are for the administrator (stderr and the log), not for whoever opens the page
      return void res.status(503).type('text/plain').send("this group's file has an error; the server's log says what it is\n");
    }
    if (!group) return void res.status(404).type('text/plain').send('group does not exist\n');
    const query = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?')) : '';
    switch (parsed.kind) {
      case 'no-slash':
        return void res.redirect(308, `/group/${encodeGroup(parsed.group)}/${query}`);
      case 'status-json':
        return void res.redirect(308, `/group/${encodeGroup(parsed.group)}/.status`);
      case 'status':
        res.set('Cache-Control', 'no-cache');
        return void res.json(group.status(false, requestBase(req, deps.proxyURL())));
      case 'page': {
        const redirect = group.description.redirect;
        if (redirect) return void res.redirect(308, redirect);
        res.set('Cache-Control', 'no-cache');
        const page = clientPage();
        if (page) return void res.sendFile(page);
        const ownPage = path.join(LECTERN_CLIENT_DIR, 'index.html');
        if (fs.existsSync(ownPage)) return void res.sendFile(ownPage);
        return void res.type('html').send(placeholderPage(group.description.displayName || group.name));
      }
    }
  });

  // The admin API (.stats, .groups and everything below them).
  if (deps.adminApi) app.use('/galene-api/', createAdminApi(deps.adminApi));

  if (deps.recordings) app.use('/recordings', recordingsRouter(deps.recordings, { clientDir: LECTERN_CLIENT_DIR, log: deps.log }));
  app.use('/client/', express.static(LECTERN_CLIENT_DIR, { index: false, dotfiles: 'ignore' }));
  if (deps.staticDir) app.use(express.static(deps.staticDir, { index: ['index.html'], dotfiles: 'ignore' }));
  // Lectern's landing page, unless --static served its own index.html above.
  app.get('/', (_req, res) => {
    const landing = path.join(LECTERN_CLIENT_DIR, 'landing.html');
    res.set('Cache-Control', 'no-cache');
    if (fs.existsSync(landing)) return void res.sendFile(landing);
    res.type('html').send(placeholderPage('Lectern'));
  });
  app.use((_req, res) => void res.status(404).type('text/plain').send('not found\n'));
  return app;
}

function encodeGroup(name: string): string {
  return name.split('/').map(encodeURIComponent).join('/');
}
