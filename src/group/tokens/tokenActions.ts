import { isRfc3339, TokenError, type StatefulToken } from './StatefulToken.js';
import type { TokenStore } from './TokenStore.js';

/** Who is asking, in which group: what the protocol's token actions need to know about the session. */
export interface TokenCaller {
  readonly username: string;
  readonly permissions: readonly string[];
  readonly group: string;
  /** Whether `name` is a key of the group's `users` (a token may not take such a name). */
  userExists(name: string): boolean;
}

/** The `usermessage` a token action answers with (kind `token` or `tokenlist`, privileged). */
export interface TokenReply {
  kind: 'token' | 'tokenlist';
  error?: string;
  value: unknown;
}

export type TokenActionKind = 'maketoken' | 'edittoken' | 'listtokens';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A time in a maketoken/edittoken value: an RFC 3339 string, or a number of milliseconds from now. */
function parseTime(v: Record<string, unknown>, key: string, now: number): string | undefined {
  const x = v[key];
  if (x === undefined || x === null) return undefined;
  if (typeof x === 'number' && Number.isFinite(x)) {
    const d = new Date(now + x);
    if (!Number.isNaN(d.getTime())) return d.toISOString();
  }
  if (typeof x === 'string' && isRfc3339(x)) return new Date(Date.parse(x)).toISOString();
  throw new TokenError('token-invalid', `bad time value in "${key}"`);
}

function parseString(v: Record<string, unknown>, key: string): string | undefined {
  const x = v[key];
  if (x === undefined || x === null) return undefined;
  if (typeof x !== 'string') throw new TokenError('token-invalid', `bad string value in "${key}"`);
  return x;
}

const has = (v: Record<string, unknown>, key: string) => v[key] !== undefined && v[key] !== null;

function maketoken(store: TokenStore, c: TokenCaller, v: Record<string, unknown>): StatefulToken {
  const now = store.now();
  if (has(v, 'token')) throw new TokenError('error', 'client specified token');
  if ((parseString(v, 'group') ?? '') !== c.group) throw new TokenError('error', 'wrong group in token');
  if (v.includeSubgroups === true) throw new TokenError('error', 'hierarchical token not allowed');
  const perms = v.permissions ?? [];
  if (!Array.isArray(perms) || !perms.every((p) => typeof p === 'string')) {
    throw new TokenError('token-invalid', 'bad string list in "permissions"');
  }
  const expires = parseTime(v, 'expires', now);
  if (expires === undefined) throw new TokenError('error', "token doesn't expire");
  const username = parseString(v, 'username');
  if (username !== undefined && c.userExists(username)) throw new TokenError('error', 'that username is taken');
  // As in Galène, an invitation never grants more than its issuer holds (unrestricted-tokens only decides
  // who may issue one, by giving `token` to presenters).
  if (!perms.every((p: string) => c.permissions.includes(p))) throw new TokenError('not-authorised', 'not authorised');
  return store.create({
    group: c.group,
    ...(username !== undefined ? { username } : {}),
    permissions: perms as string[],
    expires,
    ...(has(v, 'not-before') ? { 'not-before': parseTime(v, 'not-before', now)! } : {}),
    issuedAt: new Date(now).toISOString(),
    ...(c.username !== '' ? { issuedBy: c.username } : {}),
  });
}

function edittoken(store: TokenStore, c: TokenCaller, v: Record<string, unknown>): StatefulToken {
  const now = store.now();
  for (const key of ['group', 'username', 'includeSubgroups', 'permissions', 'issuedBy', 'issuedAt']) {
    if (has(v, key)) throw new TokenError('error', 'this field cannot be edited');
  }
  const name = parseString(v, 'token') ?? '';
  const old = store.get(name);
  // Galène lets an op edit any group's token; we only let it touch its own group's.
  if (old === undefined || old.group !== c.group) throw new TokenError('error', 'no such token');
  const expires = parseTime(v, 'expires', now);
  const notBefore = parseTime(v, 'not-before', now);
  return store.put({
    ...old,
    ...(expires !== undefined ? { expires } : {}),
    ...(notBefore !== undefined ? { 'not-before': notBefore } : {}),
  });
}

/**
 * The groupaction kinds maketoken, edittoken and listtokens (galene-protocol.md §2.5), answered as Galène
 * does: `usermessage` kind `token` (the token) or `tokenlist` (the group's tokens), or the same kind with
 * `error` set and a message as value. maketoken needs `token`; edittoken and listtokens also need `op`.
 */
export function tokenAction(store: TokenStore, kind: TokenActionKind, c: TokenCaller, value: unknown): TokenReply {
  const replyKind = kind === 'listtokens' ? 'tokenlist' : 'token';
  const needOp = kind !== 'maketoken';
  if (!c.permissions.includes('token') || (needOp && !c.permissions.includes('op'))) {
    return { kind: replyKind, error: 'not-authorised', value: 'not authorised' };
  }
  try {
    if (kind === 'listtokens') return { kind: replyKind, value: store.list(c.group) };
    if (!isObject(value)) throw new TokenError('error', 'bad token value');
    const t = kind === 'maketoken' ? maketoken(store, c, value) : edittoken(store, c, value);
    return { kind: replyKind, value: t };
  } catch (err) {
    if (err instanceof TokenError) {
      return { kind: replyKind, error: err.code === 'not-authorised' ? 'not-authorised' : 'error', value: err.message };
    }
    return { kind: replyKind, error: 'error', value: `could not store the token: ${(err as Error).message}` };
  }
}
