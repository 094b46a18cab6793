import type { Request, Response } from 'express';
import type { Logger } from '../../log.js';
import type { AdminAuthDeps } from './auth.js';
import type { GroupFileEditor } from './GroupFileEditor.js';

/** What the admin API needs from the server. */
export interface AdminApiDeps extends AdminAuthDeps {
  files: GroupFileEditor;
  /** The `.stats` document. */
  stats(): unknown;
  /** config.json `allowAdminOrigin`. */
  allowAdminOrigin(): readonly string[];
  log: Logger;
}

export interface ApiContext {
  req: Request;
  res: Response;
  deps: AdminApiDeps;
}

/**
 * CORS as Galène does it for the admin API: an Origin naming our own host or listed in allowAdminOrigin
 * is echoed back; preflights are answered (without authentication) with the resource's methods.
 * Returns true when the request was a preflight and has been answered.
 */
export function cors(ctx: ApiContext, methods: string): boolean {
  const { req, res } = ctx;
  res.vary('Origin');
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let sameHost = false;
    try {
      sameHost = new URL(origin).host.toLowerCase() === (req.headers.host ?? '').toLowerCase();
    } catch {
      sameHost = false;
    }
    if (sameHost || ctx.deps.allowAdminOrigin().some((o) => o.toLowerCase() === origin.toLowerCase())) {
      res.set('Access-Control-Allow-Origin', origin);
      res.set('Access-Control-Expose-Headers', 'ETag, Location');
    }
  }
  if (req.method !== 'OPTIONS') return false;
  res.set('Access-Control-Allow-Methods', `OPTIONS, ${methods}`);
  res.set('Access-Control-Allow-Headers', 'Authorization, Content-Type, If-Match, If-None-Match');
  res.status(204).end();
  return true;
}
