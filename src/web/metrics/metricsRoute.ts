import { timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Logger } from '../../log.js';

export interface MetricsRouteDeps {
  /** config.json's metricsToken: when set, requests need `Authorization: Bearer <token>`. */
  token(): string | undefined;
  text(): Promise<string>;
  readonly contentType: string;
  log: Logger;
}

/** GET /metrics: the Prometheus exposition text, behind a bearer token when one is configured. */
export function metricsHandler(deps: MetricsRouteDeps) {
  return async (req: Request, res: Response): Promise<void> => {
    const token = deps.token();
    if (token !== undefined && !bearerMatches(req.headers.authorization, token)) {
      res.status(401).set('WWW-Authenticate', 'Bearer realm="metrics"').type('text/plain').send('a bearer token is required\n');
      return;
    }
    try {
      const body = await deps.text();
      res.set('Cache-Control', 'no-store').type(deps.contentType).send(body);
    } catch (err) {
      deps.log.error({ err }, 'cannot collect metrics');
      res.status(500).type('text/plain').send('cannot collect metrics\n');
    }
  };
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  if (!m) return false;
  const given = Buffer.from(m[1]!);
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}
