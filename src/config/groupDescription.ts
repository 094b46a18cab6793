/**
 * Turns a validated group file into a GroupDescription: legacy keys upgraded the way Galène upgrades
 * them, defaults applied, everything frozen.
 */
import { importJwk } from '../group/jwt.js';
import { errorMessage } from '../errors.js';
import { ConfigError } from './ConfigError.js';
import type { GroupFileInput, PasswordInput, UserEntryInput } from './schema.js';
import type { GroupDescription, Jwk, Password, UserEntry } from './types.js';

export const DEFAULT_MAX_HISTORY_AGE = 14_400;
export const DEFAULT_CODECS: readonly string[] = Object.freeze(['vp8', 'opus']);

export interface FileMeta {
  readonly name: string;
  readonly file: string;
  readonly mtimeMs: number;
  readonly size: number;
}

export interface Built<T> {
  readonly value: T;
  /** Things worth a log line that do not make the file invalid (obsolete keys, duplicate legacy users). */
  readonly warnings: readonly string[];
}

export function normalizePassword(p: PasswordInput): Password {
  return Object.freeze(typeof p === 'string' ? { type: 'plain' as const, key: p } : { ...p });
}

export function normalizeUserEntry(u: UserEntryInput): UserEntry {
  const permissions = u.permissions ?? [];
  return Object.freeze({
    ...(u.password != null ? { password: normalizePassword(u.password) } : {}),
    permissions: typeof permissions === 'string' ? permissions : Object.freeze([...permissions]),
  });
}

/** A fresh prototype-less object (freeze it when done). */
export function normalizeUsers(users: Readonly<Record<string, UserEntryInput>> | null | undefined) {
  const map = Object.create(null) as Record<string, UserEntry>;
  for (const [name, u] of Object.entries(users ?? {})) map[name] = normalizeUserEntry(u);
  return map;
}

/** Builds the description; throws ConfigError when a key in `authKeys` cannot be used. */
export function buildGroupDescription(input: GroupFileInput, meta: FileMeta): Built<GroupDescription> {
  const warnings: string[] = [];
  const users = normalizeUsers(input.users);
  let wildcardUser = input['wildcard-user'] != null ? normalizeUserEntry(input['wildcard-user']) : undefined;

  if (input['allow-anonymous'] != null) warnings.push('key allow-anonymous is obsolete and ignored');

  // Legacy op/presenter/other: existing entries win, a missing username is the wildcard user, and a
  // missing password lets anyone in under that name.
  const legacy = [
    ['op', input.op, 'op'],
    ['presenter', input.presenter, 'present'],
    ['other', input.other, 'message'],
  ] as const;
  for (const [key, patterns, permissions] of legacy) {
    for (const p of patterns ?? []) {
      const entry: UserEntry = Object.freeze({
        password: p.password != null ? normalizePassword(p.password) : Object.freeze({ type: 'wildcard' as const }),
        permissions,
      });
      const username = p.username ?? '';
      if (username === '') {
        if (wildcardUser) warnings.push(`${key}: duplicate wildcard user ignored`);
        else wildcardUser = entry;
      } else if (Object.hasOwn(users, username)) {
        warnings.push(`${key}: duplicate user ${JSON.stringify(username)} ignored`);
      } else {
        users[username] = entry;
      }
    }
  }

  const authKeys = (input.authKeys ?? []).map((k, i) => {
    try {
      importJwk(k);
    } catch (err) {
      throw new ConfigError(meta.file, `authKeys.${i}`, errorMessage(err), { cause: err });
    }
    return deepFreeze(structuredClone(k)) as Jwk;
  });

  const codecs = input.codecs != null && input.codecs.length > 0 ? Object.freeze([...input.codecs]) : DEFAULT_CODECS;

  const desc: GroupDescription = {
    name: meta.name,
    file: meta.file,
    mtimeMs: meta.mtimeMs,
    size: meta.size,
    isSubgroup: false,
    ...optionalString('displayName', input.displayName),
    ...optionalString('description', input.description),
    ...optionalString('contact', input.contact),
    ...optionalString('comment', input.comment),
    public: input.public ?? false,
    ...optionalString('redirect', input.redirect),
    maxClients: input['max-clients'] ?? 0,
    maxHistoryAge: input['max-history-age'] || DEFAULT_MAX_HISTORY_AGE,
    ...(input['not-before'] != null ? { notBefore: Date.parse(input['not-before']) } : {}),
    ...(input.expires != null ? { expires: Date.parse(input.expires) } : {}),
    allowRecording: input['allow-recording'] ?? false,
    unrestrictedTokens: input['unrestricted-tokens'] ?? false,
    autoSubgroups: (input['auto-subgroups'] ?? false) || (input['allow-subgroups'] ?? false),
    autolock: input.autolock ?? false,
    autokick: input.autokick ?? false,
    users: Object.freeze(users),
    ...(wildcardUser ? { wildcardUser } : {}),
    authKeys: Object.freeze(authKeys),
    ...optionalString('authServer', input.authServer),
    ...optionalString('authPortal', input.authPortal),
    codecs,
    hls: input.hls ?? isLecture(users, wildcardUser),
    membersSeeRecordings: input['members-see-recordings'] ?? false,
  };
  return { value: Object.freeze(desc), warnings };
}

/**
 * The default of `hls`: on for a lecture, i.e. a group where some named user may present and nobody else
 * may (neither the wildcard user nor the empty username ""). Meetings, where anyone may present, and
 * groups nobody can present in, default to off.
 */
function isLecture(users: Record<string, UserEntry>, wildcard: UserEntry | undefined): boolean {
  const presents = (e: UserEntry | undefined) => {
    if (!e) return false;
    const p = e.permissions;
    return typeof p === 'string' ? p === 'op' || p === 'present' : p.includes('present');
  };
  if (presents(wildcard) || presents(users[''])) return false;
  return Object.entries(users).some(([name, e]) => name !== '' && presents(e));
}

/**
 * The description of `name`, an auto-subgroup of `parent`: never public, no description, otherwise the
 * parent's settings (users, keys, options).
 */
export function subgroupDescription(parent: GroupDescription, name: string): GroupDescription {
  const { description: _dropped, ...rest } = parent;
  return Object.freeze({ ...rest, name, isSubgroup: true, public: false });
}

function optionalString<K extends string>(key: K, v: string | null | undefined): { [P in K]?: string } {
  return (v != null && v !== '' ? { [key]: v } : {}) as { [P in K]?: string };
}

function deepFreeze<T>(v: T): T {
  if (v !== null && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const child of Object.values(v)) deepFreeze(child);
  }
  return v;
}
