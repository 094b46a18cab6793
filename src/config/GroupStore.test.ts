import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { authenticateUser } from '../group/passwords.js';
import { GroupStore, type GroupDescription } from './GroupStore.js';

let dir: string;
let store: GroupStore | undefined;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-groups-'));
});
afterEach(() => {
  store?.close();
  store = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

function write(name: string, content: unknown): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** Gives a file a distinct mtime so that the poll sees a change even within one clock tick. */
function bump(name: string, seconds: number): void {
  const t = new Date(Date.now() + seconds * 1000);
  fs.utimesSync(path.join(dir, name), t, t);
}

function open(pollMs = 0): GroupStore {
  store = new GroupStore({ groupsDir: dir, log: silentLogger, pollMs });
  store.load();
  return store;
}

describe('GroupStore loading', () => {
  it('applies defaults and freezes', () => {
    write('plain.json', {});
    const d = open().get('plain')!;
    expect(d).toMatchObject({
      name: 'plain',
      file: path.join(dir, 'plain.json'),
      isSubgroup: false,
      public: false,
      maxClients: 0,
      maxHistoryAge: 14400,
      codecs: ['vp8', 'opus'],
      allowRecording: false,
      autoSubgroups: false,
      hls: false,
      authKeys: [],
    });
    expect(d.wildcardUser).toBeUndefined();
    expect(Object.isFrozen(d)).toBe(true);
    expect(Object.isFrozen(d.users)).toBe(true);
    expect(Object.isFrozen(d.codecs)).toBe(true);
  });

  it('reads every Galène key', () => {
    const hmac = { kty: 'oct', alg: 'HS256', k: crypto.randomBytes(32).toString('base64url'), kid: 'k1' };
    write('full.json', {
      displayName: 'Physics 101',
      description: 'Lectures',
      contact: 'prof@example.org',
      comment: 'internal',
      public: true,
      redirect: '',
      'max-clients': 300,
      'max-history-age': 600,
      'not-before': '2025-01-01T08:00:00Z',
      expires: '2025-06-30T18:00:00+02:00',
      'allow-recording': true,
      'unrestricted-tokens': true,
      'auto-subgroups': true,
      autolock: true,
      autokick: false,
      users: { prof: { password: 'pw', permissions: 'op' }, '': { password: 'x', permissions: 'message' } },
      'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
      authKeys: [hmac],
      authServer: 'https://auth.example.org',
      authPortal: 'https://portal.example.org',
      codecs: ['vp9', 'opus'],
      hls: true,
    });
    const d = open().get('full')!;
    expect(d).toMatchObject({
      displayName: 'Physics 101',
      description: 'Lectures',
      contact: 'prof@example.org',
      comment: 'internal',
      public: true,
      maxClients: 300,
      maxHistoryAge: 600,
      notBefore: Date.parse('2025-01-01T08:00:00Z'),
      expires: Date.parse('2025-06-30T16:00:00Z'),
      allowRecording: true,
      unrestrictedTokens: true,
      autoSubgroups: true,
      autolock: true,
      autokick: false,
      authServer: 'https://auth.example.org',
      authPortal: 'https://portal.example.org',
      codecs: ['vp9', 'opus'],
      hls: true,
      authKeys: [hmac],
    });
    expect(d.redirect).toBeUndefined(); // empty string means no redirect
    expect(d.users.prof).toEqual({ password: { type: 'plain', key: 'pw' }, permissions: 'op' });
    expect(d.users['']).toEqual({ password: { type: 'plain', key: 'x' }, permissions: 'message' });
    expect(d.wildcardUser).toEqual({ password: { type: 'wildcard' }, permissions: 'observe' });
  });

  it('accepts every password format', () => {
    write('pw.json', {
      users: {
        plain: { password: 'p', permissions: 'present' },
        plainObject: { password: { type: 'plain', key: 'p' }, permissions: 'present' },
        hashed: {
          password: {
            type: 'pbkdf2',
            hash: 'sha-256',
            key: 'fe499504e8f144693fae828e8e371d50e019d0e4c84994fa03f7f445bd8a570a',
            salt: 'bcc1717851030776',
            iterations: 4096,
          },
          permissions: 'op',
        },
        bcrypted: {
          password: { type: 'bcrypt', key: '$2a$10$afOr2f33onT/nDFFyT3mbOq5FMSw1wWXfyTXQTBMbKvZpBkoD3Qwu' },
          permissions: ['present', 'record'],
        },
        anyone: { password: { type: 'wildcard' }, permissions: 'message' },
        nopassword: { permissions: 'op' },
        nothing: {},
      },
    });
    const s = open();
    expect(s.errors()).toEqual([]);
    const u = s.get('pw')!.users;
    expect(u.plainObject).toEqual(u.plain);
    expect(u.hashed?.password?.type).toBe('pbkdf2');
    expect(u.bcrypted?.permissions).toEqual(['present', 'record']);
    expect(u.nopassword).toEqual({ permissions: 'op' });
    expect(u.nothing).toEqual({ permissions: [] });
  });

  it('upgrades legacy op/presenter/other, allow-subgroups and allow-anonymous', async () => {
    write('legacy.json', {
      op: [{ username: 'jch', password: 'topsecret' }],
      presenter: [{ username: 'john', password: 'secret' }, { username: 'jch', password: 'ignored' }],
      other: [{ username: 'james', password: 'secret2' }, { username: 'peter' }, {}],
      users: { john: { password: 'kept', permissions: 'observe' } },
      'allow-subgroups': true,
      'allow-anonymous': true,
      'max-history-age': 10,
    });
    const d = open().get('legacy')!;
    expect(d.autoSubgroups).toBe(true);
    expect(d.maxHistoryAge).toBe(10);
    expect(d.users).toEqual({
      jch: { password: { type: 'plain', key: 'topsecret' }, permissions: 'op' },
      john: { password: { type: 'plain', key: 'kept' }, permissions: 'observe' }, // existing users win
      james: { password: { type: 'plain', key: 'secret2' }, permissions: 'message' },
      peter: { password: { type: 'wildcard' }, permissions: 'message' }, // no password: anyone may use it
    });
    expect(d.wildcardUser).toEqual({ password: { type: 'wildcard' }, permissions: 'message' });
    expect(await authenticateUser(d, 'jch', 'topsecret')).toMatchObject({ ok: true });
    expect(await authenticateUser(d, 'stranger', 'anything')).toEqual({ ok: true, permissions: ['message'] });
  });

  it('names hierarchical groups after their path', () => {
    write('top.json', {});
    write('a/b.json', {});
    write('a/b/c.json', { public: true });
    const s = open();
    expect(s.list().map((g) => g.name)).toEqual(['a/b', 'a/b/c', 'top']);
    expect(s.get('a/b/c')?.file).toBe(path.join(dir, 'a/b/c.json'));
    expect(s.get('a')).toBeUndefined();
  });

  it('resolves auto-subgroups from the nearest file', () => {
    write('course.json', { 'auto-subgroups': true, public: true, description: 'd', users: { t: { password: 'x', permissions: 'op' } } });
    write('closed.json', { public: true });
    write('course/fixed.json', {});
    const s = open();
    const sub = s.resolve('course/lab1')!;
    expect(sub).toMatchObject({ name: 'course/lab1', isSubgroup: true, public: false, autoSubgroups: true });
    expect(sub.description).toBeUndefined();
    expect(sub.users.t).toBeDefined();
    expect(s.resolve('course/lab1/deeper')?.name).toBe('course/lab1/deeper');
    expect(s.resolve('course')?.isSubgroup).toBe(false);
    expect(s.resolve('closed/x')).toBeUndefined(); // parent does not allow subgroups
    expect(s.resolve('course/fixed/x')).toBeUndefined(); // nearest file decides, and it does not allow them
    expect(s.resolve('course/../closed')).toBeUndefined();
    expect(s.resolve('nothing')).toBeUndefined();
    expect(s.list().map((g) => g.name)).toEqual(['closed', 'course', 'course/fixed']);
  });
});

describe('GroupStore invalid files', () => {
  it.each<[string, unknown, string, RegExp]>([
    ['unknown key', { public: true, colour: 'red' }, 'colour', /unknown key/],
    ['wrong type', { 'max-clients': 'ten' }, 'max-clients', /expected number/],
    ['unknown key in a user', { users: { bob: { password: 'x', perms: 'op' } } }, 'users.bob.perms', /unknown key/],
    ['bad permission', { 'wildcard-user': { permissions: 'root' } }, 'wildcard-user.permissions', /expected one of/],
    ['bad date', { expires: 'next week' }, 'expires', /RFC 3339/],
    ['bad pbkdf2 hex', { users: { u: { password: { type: 'pbkdf2', hash: 'sha-256', key: 'xyz', salt: '00', iterations: 1 } } } }, 'users.u.password.key', /hex/],
    ['bad bcrypt', { users: { u: { password: { type: 'bcrypt', key: 'plaintext' } } } }, 'users.u.password.key', /bcrypt/],
    ['key without alg', { authKeys: [{ kty: 'oct', k: 'AAAA' }] }, 'authKeys.0.alg', /missing/],
    ['HS key of wrong length', { authKeys: [{ kty: 'oct', alg: 'HS256', k: 'AAAA' }] }, 'authKeys.0', /32 bytes/],
    ['legacy entry with unknown key', { op: [{ user: 'x' }] }, 'op.0.user', /unknown key/],
    ['not JSON', '{ "public": tru', '', /invalid JSON/],
  ])('%s: reported with file, key and reason; other groups load', (_label, content, key, reason) => {
    write('good.json', { public: true });
    const file = write('bad.json', content);
    const s = open();
    expect(s.get('good')?.public).toBe(true);
    expect(s.get('bad')).toBeUndefined();
    const errors = s.errors();
    expect(errors).toHaveLength(1);
    const e = errors[0]!;
    expect(e.code).toBe('config-invalid');
    expect(e.file).toBe(file);
    expect(e.key).toBe(key);
    expect(e.reason).toMatch(reason);
    expect(e.message).toContain(file);
    if (key) expect(e.message).toContain(key);
  });

  it('reports a bad group name', () => {
    write('good.json', {});
    const file = write('bad\\name.json', {});
    const s = open();
    expect(s.list().map((g) => g.name)).toEqual(['good']);
    expect(s.errors()).toHaveLength(1);
    expect(s.errors()[0]).toMatchObject({ file, key: '', reason: expect.stringMatching(/invalid group name/) });
  });
});

describe('GroupStore hot reload', () => {
  function nextChange(s: GroupStore, name: string): Promise<GroupDescription | undefined> {
    return new Promise((resolve) => {
      const off = s.onChange((n, d) => {
        if (n !== name) return;
        off();
        resolve(d);
      });
    });
  }

  it('notices new, changed and deleted files', async () => {
    write('a.json', { public: false });
    const s = open(20);
    let seen = nextChange(s, 'b/c');
    write('b/c.json', { displayName: 'new' });
    expect((await seen)?.displayName).toBe('new');

    seen = nextChange(s, 'a');
    write('a.json', { public: true, displayName: 'changed' });
    bump('a.json', 5);
    expect((await seen)?.public).toBe(true);

    seen = nextChange(s, 'a');
    fs.rmSync(path.join(dir, 'a.json'));
    expect(await seen).toBeUndefined();
    expect(s.get('a')).toBeUndefined();
  });

  it('keeps the last valid description while a file is invalid, then picks up the fix', async () => {
    write('g.json', { displayName: 'v1' });
    write('other.json', {});
    const s = open();
    const changes: string[] = [];
    s.onChange((n, d) => changes.push(`${n}:${d?.displayName ?? '-'}`));

    write('g.json', { displayName: 'v2', typo: true });
    bump('g.json', 5);
    s.load(); // rescan now
    expect(s.get('g')?.displayName).toBe('v1');
    expect(s.errors().map((e) => e.key)).toEqual(['typo']);
    expect(changes).toEqual([]);

    write('g.json', { displayName: 'v3' });
    bump('g.json', 10);
    s.load();
    expect(s.get('g')?.displayName).toBe('v3');
    expect(s.errors()).toEqual([]);
    expect(changes).toEqual(['g:v3']);
  });

  it('stops notifying after close, and close is idempotent', () => {
    write('g.json', {});
    const s = open();
    const changes: string[] = [];
    s.onChange((n) => changes.push(n));
    s.close();
    s.close();
    write('h.json', {});
    s.load();
    expect(changes).toEqual([]);
  });

  it('survives a listener that throws', () => {
    const s = open();
    const seen: string[] = [];
    s.onChange(() => {
      throw new Error('boom');
    });
    s.onChange((n) => seen.push(n));
    write('x.json', {});
    s.load();
    expect(seen).toEqual(['x']);
  });
});
