import { hashPasswordBcrypt } from '../../group/passwords.js';
import { isAdmin, isAdminOrSelf, requireAdmin, unauthorised } from './auth.js';
import { cors, type ApiContext } from './context.js';
import { allowMethods, ApiError, checkPreconditions, isObject, readBody, readJson, sendJson } from './http.js';

/** A user entry of a group file: a named user (`""` is the empty user) or the wildcard user. */
export type UserRef = { kind: 'named'; name: string } | { kind: 'wildcard' };

function getEntry(data: Record<string, unknown>, who: UserRef): Record<string, unknown> | undefined {
  if (who.kind === 'wildcard') return isObject(data['wildcard-user']) ? data['wildcard-user'] : undefined;
  const users = data.users;
  if (!isObject(users) || !Object.hasOwn(users, who.name)) return undefined;
  const u = users[who.name];
  return isObject(u) ? u : undefined;
}

function withEntry(
  data: Record<string, unknown>,
  who: UserRef,
  entry: Record<string, unknown> | undefined,
): Record<string, unknown> {
  const next = { ...data };
  if (who.kind === 'wildcard') {
    if (entry) next['wildcard-user'] = entry;
    else delete next['wildcard-user'];
    return next;
  }
  const users: Record<string, unknown> = Object.assign(Object.create(null), isObject(data.users) ? data.users : {});
  if (entry) users[who.name] = entry;
  else delete users[who.name];
  next.users = { ...users };
  return next;
}

/** `.groups/<g>/.users/`: the names of the group's users. */
export async function listUsers(ctx: ApiContext, group: string): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'HEAD, GET')) return;
  await requireAdmin(deps, req, group);
  allowMethods(req, ['GET']);
  const g = deps.files.require(group);
  res.set('ETag', g.etag);
  if (checkPreconditions(req, res, g.etag)) return;
  sendJson(req, res, isObject(g.data.users) ? Object.keys(g.data.users) : []);
}

/** `.users/<u>`, `.wildcard-user`, `.empty-user`: the `{permissions}` object (the password is never shown). */
export async function userEntry(ctx: ApiContext, group: string, who: UserRef): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'HEAD, GET, PUT, DELETE')) return;
  await requireAdmin(deps, req, group);
  allowMethods(req, ['GET', 'PUT', 'DELETE']);
  const g = deps.files.require(group);
  const entry = getEntry(g.data, who);
  const etag = entry ? g.etag : '';
  if (req.method === 'GET' || req.method === 'HEAD') {
    if (!entry) throw new ApiError(404, 'no such user');
    res.set('ETag', etag);
    if (checkPreconditions(req, res, etag)) return;
    return sendJson(req, res, entry.permissions != null ? { permissions: entry.permissions } : {});
  }
  if (req.method === 'DELETE') {
    if (!entry) throw new ApiError(404, 'no such user');
    if (checkPreconditions(req, res, etag)) return;
    deps.files.write(group, withEntry(g.data, who, undefined), g.etag);
    return void res.status(204).end();
  }
  if (checkPreconditions(req, res, etag)) return;
  const body = await readJson(req);
  if (!isObject(body)) throw new ApiError(400, 'a user must be a JSON object such as {"permissions": "present"}');
  if (body.password != null) throw new ApiError(400, 'set the password through .password');
  const extra = Object.keys(body).filter((k) => k !== 'permissions' && k !== 'password');
  if (extra.length > 0) throw new ApiError(400, `unknown field "${extra[0]}" in user`);
  const next: Record<string, unknown> = {};
  if (entry?.password != null) next.password = entry.password;
  if (body.permissions != null) next.permissions = body.permissions;
  deps.files.write(group, withEntry(g.data, who, next), g.etag);
  res.status(entry ? 204 : 201).end();
}

/**
 * `…/.password`: PUT a password object (application/json), POST plain text to be hashed with bcrypt
 * (cost 8), DELETE to remove it. An administrator may do this for anyone; a named user may change their
 * own password by proving the current one.
 */
export async function userPassword(ctx: ApiContext, group: string, who: UserRef): Promise<void> {
  const { req, res, deps } = ctx;
  if (cors(ctx, 'PUT, POST, DELETE')) return;
  const allowed =
    who.kind === 'named' ? await isAdminOrSelf(deps, req, group, who.name) : await isAdmin(deps, req, group);
  if (!allowed) throw unauthorised();
  allowMethods(req, ['PUT', 'POST', 'DELETE']);
  const g = deps.files.require(group);
  const entry = getEntry(g.data, who);
  if (!entry) throw new ApiError(404, 'no such user');
  const next = { ...entry };
  if (req.method === 'DELETE') {
    delete next.password;
  } else if (req.method === 'PUT') {
    next.password = await readJson(req);
  } else {
    const plain = await readBody(req, 'text/plain');
    next.password = await hashPasswordBcrypt(plain);
  }
  deps.files.write(group, withEntry(g.data, who, next), g.etag);
  res.status(204).end();
}
