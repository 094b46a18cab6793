import { LecternError } from '../../errors.js';

/**
 * A stateful token as stored in `data/var/tokens.jsonl`, one JSON object a line, with Galène's field names.
 * Times are RFC 3339 strings on disk and on the wire; `expires` is required (a token without it is never
 * valid, as in Galène).
 */
export interface StatefulToken {
  readonly token: string;
  /** The group it admits to; `""` with includeSubgroups is a global token. */
  readonly group: string;
  readonly includeSubgroups?: boolean;
  /** When set, overrides the username the client sends. */
  readonly username?: string;
  /** A raw, unexpanded permissions array. */
  readonly permissions: readonly string[];
  readonly expires?: string;
  readonly 'not-before'?: string;
  readonly issuedAt?: string;
  readonly issuedBy?: string;
}

/** Why a token was refused, as a stable code and a message a user can read. */
export class TokenError extends LecternError {}

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i;

export function isRfc3339(s: string): boolean {
  return RFC3339.test(s) && !Number.isNaN(Date.parse(s));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

const KEYS = new Set([
  'token', 'group', 'includeSubgroups', 'username', 'permissions', 'expires', 'not-before', 'issuedAt', 'issuedBy',
]);

/**
 * Validates a token object read from the file or from the admin API. `null` means absent (as Go's decoder
 * treats it). Throws TokenError `token-invalid` naming the field at fault.
 */
export function parseStatefulToken(v: unknown): StatefulToken {
  if (!isObject(v)) throw new TokenError('token-invalid', 'a token must be a JSON object');
  for (const key of Object.keys(v)) {
    if (!KEYS.has(key)) throw new TokenError('token-invalid', `unknown field "${key}" in token`);
  }
  const str = (key: string): string | undefined => {
    const x = v[key];
    if (x === undefined || x === null) return undefined;
    if (typeof x !== 'string') throw new TokenError('token-invalid', `field "${key}" must be a string`);
    return x;
  };
  const time = (key: string): string | undefined => {
    const x = str(key);
    if (x !== undefined && !isRfc3339(x)) {
      throw new TokenError('token-invalid', `field "${key}" must be an RFC 3339 date such as 2030-01-31T18:00:00Z`);
    }
    return x;
  };
  const perms = v.permissions ?? [];
  if (!Array.isArray(perms) || !perms.every((p) => typeof p === 'string')) {
    throw new TokenError('token-invalid', 'field "permissions" must be an array of strings');
  }
  const sub = v.includeSubgroups ?? false;
  if (typeof sub !== 'boolean') throw new TokenError('token-invalid', 'field "includeSubgroups" must be a boolean');
  return compact({
    token: str('token') ?? '',
    group: str('group') ?? '',
    includeSubgroups: sub || undefined,
    username: str('username'),
    permissions: [...(perms as string[])],
    expires: time('expires'),
    'not-before': time('not-before'),
    issuedAt: time('issuedAt'),
    issuedBy: str('issuedBy'),
  });
}

/** Drops undefined fields, so that JSON output and deep equality are clean. */
export function compact(t: { [K in keyof StatefulToken]: StatefulToken[K] | undefined }): StatefulToken {
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(t)) if (x !== undefined) out[k] = x;
  return out as unknown as StatefulToken;
}

/** Whether the token admits to `group`: its own group, or below it with includeSubgroups. */
export function tokenMatchesGroup(t: StatefulToken, group: string): boolean {
  if (group === '') return t.group === '' && t.includeSubgroups === true;
  if (t.group === group) return true;
  if (!t.includeSubgroups) return false;
  return t.group === '' || group.startsWith(`${t.group}/`);
}

/** Checks the token for a join or an API call at time `now`; throws TokenError when it may not be used. */
export function checkStatefulToken(t: StatefulToken, group: string, now: number): void {
  if (!tokenMatchesGroup(t, group)) throw new TokenError('token-wrong-group', 'this token is for another group');
  if (t.expires === undefined || Date.parse(t.expires) < now) {
    throw new TokenError('token-expired', 'this token has expired');
  }
  if (t['not-before'] !== undefined && Date.parse(t['not-before']) > now) {
    throw new TokenError('token-not-yet-valid', 'this token is not valid yet');
  }
}
