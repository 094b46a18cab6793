import { importJwk } from '../../group/jwt.js';
import { requireAdmin } from './auth.js';
import { cors, type ApiContext } from './context.js';
import { allowMethods, ApiError, checkPreconditions, isObject, readJson, sendJson } from './http.js';

/** Keys that hold credentials: never shown by, nor accepted from, the group description resource. */
export const CREDENTIAL_KEYS = ['users', 'wildcard-user', 'authKeys', 'op', 'presenter', 'other'] as const;

/** `.groups/`: the names of all groups. */
export async function listGroups(ctx: ApiContext): Promise<void> {
  if (cors(ctx, 'HEAD, GET')) return;
  await requireAdmin(ctx.deps, ctx.req, undefined);
  allowMethods(ctx.req, ['GET']);
  ctx.res.set('Cache-Control', 'no-cache');
  sendJson(ctx.req, ctx.res, ctx.deps.files.names());
}

/** `.groups/<g>`: the description without users and keys; PUT replaces it (keeping those), DELETE removes the group. */
export async function groupDescription(ctx: ApiContext, group: string): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'HEAD, GET, PUT, DELETE')) return;
  await requireAdmin(deps, req, group);
  allowMethods(req, ['GET', 'PUT', 'DELETE']);
  const current = deps.files.read(group);
  const etag = current?.etag ?? '';
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (!current) throw new ApiError(404, 'no such group');
    res.set('ETag', etag);
    res.set('Cache-Control', 'no-cache');
    if (checkPreconditions(req, res, etag)) return;
    const out = { ...current.data };
    for (const k of CREDENTIAL_KEYS) delete out[k];
    return sendJson(req, res, out);
  }
  if (req.method === 'DELETE') {
    if (!current) throw new ApiError(404, 'no such group');
    if (checkPreconditions(req, res, etag)) return;
    deps.files.delete(group, etag);
    return void res.status(204).end();
  }
  if (checkPreconditions(req, res, etag)) return;
  const body = await readJson(req);
  if (!isObject(body)) throw new ApiError(400, 'a group description must be a JSON object');
  const given = CREDENTIAL_KEYS.filter((k) => k in body);
  if (given.length > 0) {
    throw new ApiError(400, `${given.join(', ')} cannot be set here: use .users/, .wildcard-user and .keys`);
  }
  const next: Record<string, unknown> = { ...body };
  for (const k of CREDENTIAL_KEYS) if (current && k in current.data) next[k] = current.data[k];
  deps.files.write(group, next, etag);
  res.status(current ? 204 : 201).end();
}

/** `.groups/<g>/.keys`: PUT a JWK set (application/jwk-set+json) as the group's authKeys, or DELETE them. */
export async function groupKeys(ctx: ApiContext, group: string): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'PUT, DELETE')) return;
  await requireAdmin(deps, req, group);
  allowMethods(req, ['PUT', 'DELETE']);
  const current = deps.files.require(group);
  const next = { ...current.data };
  if (req.method === 'DELETE') {
    delete next.authKeys;
  } else {
    const body = await readJson(req, 'application/jwk-set+json');
    if (!isObject(body) || !Array.isArray(body.keys)) throw new ApiError(400, 'expected a JWK set: {"keys": [...]}');
    body.keys.forEach((k, i) => {
      try {
        if (!isObject(k)) throw new Error('a key must be an object');
        importJwk(k);
      } catch (err) {
        throw new ApiError(400, `bad key ${i}: ${(err as Error).message}`);
      }
    });
    next.authKeys = body.keys;
  }
  deps.files.write(group, next, current.etag);
  res.status(204).end();
}
