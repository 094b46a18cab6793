import crypto from 'node:crypto';
import bcrypt from 'bcryptjs';
import { describe, expect, it } from 'vitest';
import type { Password, UserEntry } from '../config/types.js';
import { authenticateUser, forgetVerifiedPasswords, hashPasswordBcrypt, verifyPassword } from './passwords.js';

function pbkdf2Password(plain: string, iterations = 4096): Password {
  const salt = crypto.randomBytes(8);
  const key = crypto.pbkdf2Sync(plain, salt, iterations, 32, 'sha256');
  return { type: 'pbkdf2', hash: 'sha-256', key: key.toString('hex'), salt: salt.toString('hex'), iterations };
}

// Hashes of "pass" in the formats galenectl writes (pbkdf2: 4096 rounds of SHA-256, 8-byte salt, hex;
// bcrypt: Go's $2a$), as they appear in Galène's own test data.
const GALENE_PBKDF2: Password = {
  type: 'pbkdf2',
  hash: 'sha-256',
  key: 'fe499504e8f144693fae828e8e371d50e019d0e4c84994fa03f7f445bd8a570a',
  salt: 'bcc1717851030776',
  iterations: 4096,
};
const GALENE_BCRYPT: Password = { type: 'bcrypt', key: '$2a$10$afOr2f33onT/nDFFyT3mbOq5FMSw1wWXfyTXQTBMbKvZpBkoD3Qwu' };

const generatedPbkdf2 = pbkdf2Password('secret');
const sha512Salt = crypto.randomBytes(16);
const generatedPbkdf2Sha512: Password = {
  type: 'pbkdf2',
  hash: 'sha-512',
  key: crypto.pbkdf2Sync('secret', sha512Salt, 1000, 64, 'sha512').toString('hex'),
  salt: sha512Salt.toString('hex'),
  iterations: 1000,
};
const bcryptB = bcrypt.hashSync('secret', 4); // bcryptjs writes $2b$
const generatedBcrypt: Password = { type: 'bcrypt', key: bcryptB };
const bcrypt2a: Password = { type: 'bcrypt', key: bcryptB.replace(/^\$2b\$/, '$2a$') };
const bcrypt2y: Password = { type: 'bcrypt', key: bcryptB.replace(/^\$2b\$/, '$2y$') };

describe('verifyPassword', () => {
  it.each<[string, Password | undefined, string, boolean]>([
    ['plain match', { type: 'plain', key: 'secret' }, 'secret', true],
    ['plain mismatch', { type: 'plain', key: 'secret' }, 'secreT', false],
    ['plain prefix', { type: 'plain', key: 'secret' }, 'secre', false],
    ['plain longer', { type: 'plain', key: 'secret' }, 'secret1', false],
    ['plain empty matches empty', { type: 'plain', key: '' }, '', true],
    ['plain empty vs text', { type: 'plain', key: '' }, 'x', false],
    ['plain unicode', { type: 'plain', key: 'mot de passe é' }, 'mot de passe é', true],
    ['wildcard anything', { type: 'wildcard' }, 'whatever', true],
    ['wildcard empty', { type: 'wildcard' }, '', true],
    ['no password', undefined, '', false],
    ['pbkdf2 generated', generatedPbkdf2, 'secret', true],
    ['pbkdf2 generated wrong', generatedPbkdf2, 'Secret', false],
    ['pbkdf2 sha-512', generatedPbkdf2Sha512, 'secret', true],
    ['pbkdf2 sha-512 wrong', generatedPbkdf2Sha512, 'nope', false],
    ['pbkdf2 galenectl fixture', GALENE_PBKDF2, 'pass', true],
    ['pbkdf2 galenectl fixture wrong', GALENE_PBKDF2, 'bad', false],
    ['bcrypt $2b$', generatedBcrypt, 'secret', true],
    ['bcrypt $2b$ wrong', generatedBcrypt, 'secret!', false],
    ['bcrypt $2a$', bcrypt2a, 'secret', true],
    ['bcrypt $2y$', bcrypt2y, 'secret', true],
    ['bcrypt galenectl fixture', GALENE_BCRYPT, 'pass', true],
    ['bcrypt galenectl fixture wrong', GALENE_BCRYPT, 'bad', false],
    ['bcrypt malformed', { type: 'bcrypt', key: '$2b$04$short' }, 'secret', false],
  ])('%s', async (_label, stored, given, expected) => {
    expect(await verifyPassword(stored, given)).toBe(expected);
  });

  it('survives many concurrent hashes (semaphore)', async () => {
    const results = await Promise.all(
      Array.from({ length: 12 }, (_, i) => verifyPassword(generatedPbkdf2, i % 2 === 0 ? 'secret' : 'wrong')),
    );
    expect(results).toEqual(Array.from({ length: 12 }, (_, i) => i % 2 === 0));
  });
});

describe('hashPasswordBcrypt', () => {
  it('produces a cost-8 bcrypt password that verifies', async () => {
    const pw = await hashPasswordBcrypt('hunter2');
    expect(pw.type).toBe('bcrypt');
    expect(pw.key).toMatch(/^\$2[aby]\$08\$/);
    expect(await verifyPassword(pw, 'hunter2')).toBe(true);
    expect(await verifyPassword(pw, 'hunter3')).toBe(false);
  });
});

describe('authenticateUser', () => {
  const user = (password: Password | undefined, permissions: UserEntry['permissions']): UserEntry =>
    password ? { password, permissions } : { permissions };
  const users = Object.assign(Object.create(null) as Record<string, UserEntry>, {
    alice: user({ type: 'plain', key: 'alicepw' }, 'op'),
    bob: user(generatedPbkdf2, 'present'),
    '': user({ type: 'plain', key: 'emptypw' }, 'message'),
    nopw: user(undefined, 'op'),
    raw: user({ type: 'wildcard' }, ['present', 'custom']),
  });
  const withWildcard = {
    users,
    wildcardUser: user({ type: 'plain', key: 'guest' }, 'observe'),
    allowRecording: true,
    unrestrictedTokens: false,
  };
  const noWildcard = { users, allowRecording: false, unrestrictedTokens: true };

  it.each<[string, typeof withWildcard | typeof noWildcard, string, string | undefined, string[] | false]>([
    ['named user', withWildcard, 'alice', 'alicepw', ['op', 'present', 'message', 'caption', 'token', 'record']],
    ['named user, wrong password, no fallback', withWildcard, 'alice', 'guest', false],
    ['hashed named user', noWildcard, 'bob', 'secret', ['present', 'message', 'token']],
    ['empty user', withWildcard, '', 'emptypw', ['message']],
    ['empty user, wrong password, no fallback', withWildcard, '', 'guest', false],
    ['wildcard user', withWildcard, 'carol', 'guest', []],
    ['wildcard user, wrong password', withWildcard, 'carol', 'nope', false],
    ['unknown name without wildcard user', noWildcard, 'carol', 'guest', false],
    ['user without password', withWildcard, 'nopw', '', false],
    ['raw permissions taken as-is', withWildcard, 'raw', undefined, ['present', 'custom']],
    ['inherited name is not a user', noWildcard, 'constructor', '', false],
    ['inherited name falls to wildcard', withWildcard, 'toString', 'guest', []],
  ])('%s', async (_label, desc, username, password, expected) => {
    const r = await authenticateUser(desc, username, password);
    if (expected === false) expect(r).toEqual({ ok: false });
    else {
      expect(r.ok).toBe(true);
      if (r.ok) expect([...r.permissions].sort()).toEqual([...expected].sort());
    }
  });

  it('treats an absent password as empty', async () => {
    const desc = { users: Object.assign(Object.create(null), { u: user({ type: 'plain', key: '' }, 'message') }) };
    expect(await authenticateUser(desc, 'u', undefined)).toEqual({ ok: true, permissions: ['message'] });
  });
});

describe('hashed checks off the event loop, with a short cache', () => {
  it('a bcrypt check lets a timer scheduled during it run before it completes', async () => {
    const stored: Password = { type: 'bcrypt', key: bcrypt.hashSync('slow', 10) };
    forgetVerifiedPasswords();
    const order: string[] = [];
    const check = verifyPassword(stored, 'slow').then((ok) => order.push(`check ${ok}`));
    setTimeout(() => order.push('timer'), 0);
    await check;
    expect(order).toEqual(['timer', 'check true']);
  });

  it('a pbkdf2 check does too, and a wrong password is refused', async () => {
    const salt = crypto.randomBytes(16);
    const key = crypto.pbkdf2Sync('right', salt, 200_000, 32, 'sha256');
    const stored: Password = { type: 'pbkdf2', hash: 'sha-256', key: key.toString('hex'), salt: salt.toString('hex'), iterations: 200_000 };
    forgetVerifiedPasswords();
    const order: string[] = [];
    const check = verifyPassword(stored, 'right').then((ok) => order.push(`check ${ok}`));
    setTimeout(() => order.push('timer'), 0);
    await check;
    expect(order).toEqual(['timer', 'check true']);
    expect(await verifyPassword(stored, 'wrong')).toBe(false);
  });

  it('a verified password is remembered only for the stored hash it matched', async () => {
    forgetVerifiedPasswords();
    const old: Password = { type: 'bcrypt', key: bcrypt.hashSync('old', 10) };
    expect(await verifyPassword(old, 'old')).toBe(true);
    // remembered: the second check completes without a hash (a cost-10 bcrypt takes several turns of the event loop)
    let done = false;
    const again = verifyPassword(old, 'old').then((ok) => ((done = true), ok));
    await new Promise<void>((r) => setImmediate(r));
    expect(done).toBe(true);
    expect(await again).toBe(true);
    const changed: Password = { type: 'bcrypt', key: bcrypt.hashSync('new', 4) };
    expect(await verifyPassword(changed, 'old')).toBe(false);
    expect(await verifyPassword(changed, 'new')).toBe(true);
  });
});
