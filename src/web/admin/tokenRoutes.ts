import { parseStatefulToken, TokenError, type StatefulToken } from '../../group/tokens/StatefulToken.js';
import { tokenETag, type TokenStore } from '../../group/tokens/TokenStore.js';
import { requireAdmin } from './auth.js';
import { cors, type ApiContext } from './context.js';
import { allowMethods, ApiError, checkPreconditions, isObject, readJson, sendJson } from './http.js';

function store(ctx: ApiContext): TokenStore {
  if (!ctx.deps.tokens) throw new ApiError(404, 'tokens are not enabled on this server');
  return ctx.deps.tokens;
}

/** A token body from the API: neither `token` nor `group` may be given (the URL names them). */
async function readTokenBody(ctx: ApiContext): Promise<Omit<StatefulToken, 'token' | 'group'>> {
  const body = await readJson(ctx.req);
  if (!isObject(body)) throw new ApiError(400, 'a token must be a JSON object');
  if (body.token != null || body.group != null) throw new ApiError(400, 'overspecified token: do not give token or group');
  try {
    const { token: _t, group: _g, ...rest } = parseStatefulToken(body);
    if (rest.expires === undefined) throw new ApiError(400, 'a token needs "expires" (an RFC 3339 date)');
    return rest;
  } catch (err) {
    if (err instanceof TokenError) throw new ApiError(400, err.message);
    throw err;
  }
}

/** `.groups/<g>/.tokens/`: GET the group's token names; POST a token (its name comes back in Location). */
export async function tokenList(ctx: ApiContext, group: string): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'HEAD, GET, POST')) return;
  await requireAdmin(deps, req, group);
  allowMethods(req, ['GET', 'POST']);
  deps.files.require(group);
  const tokens = store(ctx);
  if (req.method === 'POST') {
    const t = tokens.create({ ...(await readTokenBody(ctx)), group });
    res.set('Location', t.token);
    return void res.status(201).end();
  }
  res.set('Cache-Control', 'no-cache');
  sendJson(req, res, tokens.list(group).map((t) => t.token));
}

/** `.groups/<g>/.tokens/<t>`: GET (without token and group), PUT to create or replace, DELETE. */
export async function tokenEntry(ctx: ApiContext, group: string, name: string): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'HEAD, GET, PUT, DELETE')) return;
  await requireAdmin(deps, req, group);
  allowMethods(req, ['GET', 'PUT', 'DELETE']);
  deps.files.require(group);
  const tokens = store(ctx);
  const old = tokens.get(name);
  if (old && old.group !== group) {
    if (req.method === 'PUT') throw new ApiError(409, 'this token belongs to another group');
    throw new ApiError(404, 'no such token');
  }
  const etag = old ? tokenETag(old) : '';
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (!old) throw new ApiError(404, 'no such token');
    res.set('ETag', etag);
    res.set('Cache-Control', 'no-cache');
    if (checkPreconditions(req, res, etag)) return;
    const { token: _t, group: _g, ...rest } = old;
    return sendJson(req, res, rest);
  }
  if (req.method === 'DELETE') {
    if (!old) throw new ApiError(404, 'no such token');
    if (checkPreconditions(req, res, etag)) return;
    tokens.delete(name);
    return void res.status(204).end();
  }
  if (checkPreconditions(req, res, etag)) return;
  const body = await readTokenBody(ctx);
  try {
    tokens.put({ ...body, token: name, group }, old ? etag : undefined);
  } catch (err) {
    if (err instanceof TokenError && err.code === 'token-changed') {
      throw new ApiError(412, 'precondition failed: the token changed meanwhile');
    }
    if (err instanceof TokenError) throw new ApiError(400, err.message);
    throw err;
  }
  res.status(old ? 204 : 201).end();
}
