import crypto from 'node:crypto';
import os from 'node:os';
import { promisify } from 'node:util';
import type { GroupDescription, Password, UserEntry } from '../config/types.js';
import { bcryptCompare, bcryptHash } from './bcryptThread.js';
import { expandPermissions } from './permissions.js';

const pbkdf2 = promisify(crypto.pbkdf2);

const NODE_HASH = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' } as const;

/** bcrypt cost used for new hashes (galenectl's default). */
export const BCRYPT_COST = 8;

/** A counting semaphore: at most `limit` hashes run at once, so a login storm cannot exhaust memory or CPU. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  constructor(private readonly limit: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next(); // hand our slot over directly
      else this.active--;
    }
  }
}

const hashing = new Semaphore(Math.max(1, os.availableParallelism()));

/** Compares in time independent of where the strings differ (and of the stored length). */
function constantTimeEqual(a: string, b: string): boolean {
  const da = crypto.createHash('sha256').update(a, 'utf8').digest();
  const db = crypto.createHash('sha256').update(b, 'utf8').digest();
  return crypto.timingSafeEqual(da, db);
}

/** How long a verified hashed password is remembered (so a client's repeated logins hash once a minute). */
export const VERIFIED_TTL_MS = 60_000;
const MAX_VERIFIED = 10_000;
/** sha256(stored entry, given password) -> expiry. Keyed by the stored hash itself, so a changed password
 * (or file) no longer matches; only successes are kept, so a wrong password is always hashed again. */
const verified = new Map<string, number>();

function verifiedKey(stored: Password, given: string): string {
  return crypto.createHash('sha256').update(JSON.stringify(stored)).update('\0').update(given, 'utf8').digest('base64');
}

/**
 * Whether `given` matches the stored password. A missing password matches nothing; a wildcard matches
 * anything; a malformed hash (bad hex, truncated bcrypt string) simply does not match. Hashed checks never
 * block the event loop (pbkdf2 runs on libuv's thread pool, bcrypt on its own worker thread) and
 * a success is cached for VERIFIED_TTL_MS.
 */
export async function verifyPassword(stored: Password | undefined, given: string): Promise<boolean> {
  if (stored === undefined) return false;
  if (stored.type !== 'pbkdf2' && stored.type !== 'bcrypt') return verifyUncached(stored, given);
  const key = verifiedKey(stored, given);
  const now = Date.now();
  if ((verified.get(key) ?? 0) > now) return true;
  const ok = await verifyUncached(stored, given);
  if (ok) {
    if (verified.size >= MAX_VERIFIED) for (const [k, exp] of verified) if (exp <= now || verified.size >= MAX_VERIFIED) verified.delete(k);
    verified.set(key, now + VERIFIED_TTL_MS);
  }
  return ok;
}

/** Clears the cache of verified passwords (tests). */
export function forgetVerifiedPasswords(): void {
  verified.clear();
}

async function verifyUncached(stored: Password, given: string): Promise<boolean> {
  switch (stored.type) {
    case 'plain':
      return constantTimeEqual(given, stored.key);
    case 'wildcard':
      return true;
    case 'pbkdf2': {
      const key = Buffer.from(stored.key, 'hex');
      const salt = Buffer.from(stored.salt, 'hex');
      if (key.length === 0 || stored.iterations < 1) return false;
      const derived = await hashing.run(() =>
        pbkdf2(Buffer.from(given, 'utf8'), salt, stored.iterations, key.length, NODE_HASH[stored.hash]),
      );
      return crypto.timingSafeEqual(derived, key);
    }
    case 'bcrypt':
      return hashing.run(async () => {
        try {
          return await bcryptCompare(given, stored.key);
        } catch {
          return false;
        }
      });
    default:
      return false;
  }
}

/** Hashes a password for storage (`{"type":"bcrypt","key":"$2b$08$..."}`), as the admin API's POST does. */
export async function hashPasswordBcrypt(
  plain: string,
  cost: number = BCRYPT_COST,
): Promise<Extract<Password, { type: 'bcrypt' }>> {
  const key = await hashing.run(() => bcryptHash(plain, cost));
  return Object.freeze({ type: 'bcrypt', key });
}

export type AuthResult = { ok: true; permissions: string[] } | { ok: false };

/**
 * Password login to a group, in Galène's order: a `users` entry with exactly this name (the empty name
 * `""` included) decides alone, so a wrong password there fails without trying the wildcard user;
 * otherwise the `wildcard-user`, if any, is tried. An absent password is the empty string, as in Galène.
 * Permissions come back expanded for the group. A ServerFileConfig can be passed too (admin logins).
 * The caller delays failure replies (Galène waits 200 ms).
 */
export async function authenticateUser(
  desc: Pick<GroupDescription, 'users'> &
    Partial<Pick<GroupDescription, 'wildcardUser' | 'allowRecording' | 'unrestrictedTokens'>>,
  username: string,
  password: string | undefined,
): Promise<AuthResult> {
  const given = password ?? '';
  const named = Object.hasOwn(desc.users, username) ? desc.users[username] : undefined;
  const entry: UserEntry | undefined = named ?? desc.wildcardUser;
  if (entry === undefined || !(await verifyPassword(entry.password, given))) return { ok: false };
  return { ok: true, permissions: expandPermissions(entry.permissions, desc) };
}
