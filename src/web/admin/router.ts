import type { NextFunction, Request, Response } from 'express';
import { requireAdmin } from './auth.js';
import { cors, type AdminApiDeps, type ApiContext } from './context.js';
import { groupDescription, groupKeys, listGroups } from './groupRoutes.js';
import { allowMethods, ApiError, notFound, sendJson } from './http.js';
import { tokenEntry, tokenList } from './tokenRoutes.js';
import { listUsers, userEntry, userPassword } from './userRoutes.js';

export type { AdminApiDeps } from './context.js';

/**
 * Splits a path at its first `/.` segment, as Galène does: `/a/b/.users/x` gives
 * `['/a/b', '.users', '/x']`; a path without one is all `first`.
 */
export function splitPath(p: string): [first: string, kind: string, rest: string] {
  const i = p.indexOf('/.');
  if (i < 0) return [p, '', ''];
  const j = p.indexOf('/', i + 1);
  if (j < 0) return [p.slice(0, i), p.slice(i + 1), ''];
  return [p.slice(0, i), p.slice(i + 1, j), p.slice(j)];
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    throw new ApiError(400, 'malformed URL');
  }
}

async function stats(ctx: ApiContext): Promise<void> {
  if (cors(ctx, 'HEAD, GET')) return;
  await requireAdmin(ctx.deps, ctx.req, undefined);
  allowMethods(ctx.req, ['GET']);
  ctx.res.set('Cache-Control', 'no-cache');
  sendJson(ctx.req, ctx.res, ctx.deps.stats());
}

async function route(ctx: ApiContext, apiPath: string): Promise<void> {
  const [version, kind, rest] = splitPath(apiPath);
  if (version !== '/v0') throw notFound();
  if (kind === '.stats' && rest === '') return stats(ctx);
  if (kind !== '.groups') throw notFound();

  const [first, sub, subRest] = splitPath(rest);
  const group = decode(first.slice(1));
  if (group === '' && sub === '') return listGroups(ctx);
  if (group === '') throw notFound();
  switch (sub) {
    case '':
      return groupDescription(ctx, group);
    case '.keys':
      if (subRest !== '') break;
      return groupKeys(ctx, group);
    case '.wildcard-user':
    case '.empty-user': {
      const who = sub === '.wildcard-user' ? { kind: 'wildcard' as const } : { kind: 'named' as const, name: '' };
      if (subRest === '') return userEntry(ctx, group, who);
      if (subRest === '/.password') return userPassword(ctx, group, who);
      break;
    }
    case '.users': {
      if (subRest === '/') return listUsers(ctx, group);
      const [u, uKind, uRest] = splitPath(subRest);
      if (u.length < 2) break;
      const who = { kind: 'named' as const, name: decode(u.slice(1)) };
      if (uKind === '' ) return userEntry(ctx, group, who);
      if (uKind === '.password' && uRest === '') return userPassword(ctx, group, who);
      break;
    }
    case '.tokens': {
      if (subRest === '/') return tokenList(ctx, group);
      if (subRest.length > 1 && subRest.indexOf('/', 1) < 0) return tokenEntry(ctx, group, decode(subRest.slice(1)));
      break;
    }
  }
  // Like Galène, unknown resources below a group are only revealed to administrators.
  await requireAdmin(ctx.deps, ctx.req, group);
  throw notFound();
}

/**
 * The admin API, Galène's `/galene-api/v0/` (galene-protocol.md §1): mount it at `/galene-api/`.
 * Failures are plain-text bodies with the right status; nothing a client sends can throw past here.
 */
export function createAdminApi(deps: AdminApiDeps) {
  return (req: Request, res: Response, _next: NextFunction): void => {
    const ctx: ApiContext = { req, res, deps };
    const raw = req.originalUrl.split('?')[0] ?? '';
    const apiPath = raw.slice('/galene-api'.length);
    route(ctx, apiPath).catch((err: unknown) => {
      if (res.headersSent) {
        deps.log.warn({ err }, 'admin API error after the reply started');
        return;
      }
      if (err instanceof ApiError) {
        res.set(err.headers);
        res.status(err.status).type('text/plain').send(`${err.message}\n`);
        return;
      }
      deps.log.error({ err, method: req.method, path: raw }, 'admin API request failed');
      res.status(500).type('text/plain').send('internal server error\n');
    });
  };
}
