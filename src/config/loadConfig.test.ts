import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.js';
import { ConfigError } from './ConfigError.js';
import { loadServerConfig, serverConfigReader } from './loadConfig.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-config-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const write = (v: unknown) =>
  fs.writeFileSync(path.join(dir, 'config.json'), typeof v === 'string' ? v : JSON.stringify(v));

describe('loadServerConfig', () => {
  it('gives frozen defaults when the file is missing', () => {
    const c = loadServerConfig(dir);
    expect(c).toMatchObject({ writableGroups: false, allowOrigin: [], allowAdminOrigin: [], size: 0 });
    expect(Object.keys(c.users)).toEqual([]);
    expect(c.proxyURL).toBeUndefined();
    expect(c.redis).toBeUndefined();
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads a Galène config.json', () => {
    write({
      canonicalHost: 'galene.example.org',
      writableGroups: true,
      allowOrigin: ['https://a.example'],
      allowAdminOrigin: ['https://admin.example'],
      proxyURL: 'https://example.org/galene/',
      users: {
        vetinari: { password: 'lagniappe', permissions: 'admin' },
        hashed: {
          password: { type: 'bcrypt', key: '$2a$10$afOr2f33onT/nDFFyT3mbOq5FMSw1wWXfyTXQTBMbKvZpBkoD3Qwu' },
          permissions: 'admin',
        },
      },
      admin: [{ username: 'old', password: 'x' }],
      redis: 'redis://localhost:6379/0',
    });
    const c = loadServerConfig(dir, silentLogger);
    expect(c).toMatchObject({
      canonicalHost: 'galene.example.org',
      writableGroups: true,
      allowOrigin: ['https://a.example'],
      allowAdminOrigin: ['https://admin.example'],
      proxyURL: 'https://example.org/galene/',
      redis: 'redis://localhost:6379/0',
    });
    expect(c.users.vetinari).toEqual({ password: { type: 'plain', key: 'lagniappe' }, permissions: 'admin' });
    expect(c.users.hashed?.password?.type).toBe('bcrypt');
    expect('constructor' in c.users).toBe(false);
    expect(c.size).toBeGreaterThan(0);
  });

  it.each<[string, unknown, string, RegExp]>([
    ['unknown key', { writableGroups: true, publicServer: true }, 'publicServer', /unknown key/],
    ['wrong type', { writableGroups: 'yes' }, 'writableGroups', /expected boolean/],
    ['bad redis URL', { redis: 'http://localhost' }, 'redis', /redis:/],
    ['bad proxyURL', { proxyURL: 'not a url' }, 'proxyURL', /URL/],
    ['bad permission name', { users: { a: { password: 'x', permissions: 'root' } } }, 'users.a.permissions', /expected one of/],
    ['bad password object', { users: { a: { password: { type: 'md5', key: 'x' } } } }, 'users.a.password.type', /Invalid/],
    ['password of wrong type', { users: { a: { password: 5 } } }, 'users.a.password', /expected string or object/],
    ['allowOrigin not an array', { allowOrigin: 'https://a' }, 'allowOrigin', /expected array/],
    ['not JSON', '{"users": ', '', /invalid JSON/],
  ])('rejects %s', (_label, content, key, reason) => {
    write(content);
    let err: unknown;
    try {
      loadServerConfig(dir);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const ce = err as ConfigError;
    expect(ce.code).toBe('config-invalid');
    expect(ce.file).toBe(path.join(dir, 'config.json'));
    expect(ce.key).toBe(key);
    expect(ce.reason).toMatch(reason);
    expect(ce.message).toContain(ce.file);
    expect(ce.message).toContain(ce.reason);
    if (key) expect(ce.message).toContain(key);
  });
});

describe('serverConfigReader', () => {
  it('reloads on change and keeps the last valid config on a bad edit', () => {
    write({ writableGroups: true });
    const get = serverConfigReader(dir, silentLogger);
    const first = get();
    expect(first.writableGroups).toBe(true);
    expect(get()).toBe(first); // unchanged file: same object

    write({ writableGroups: false, canonicalHost: 'h.example' });
    fs.utimesSync(path.join(dir, 'config.json'), new Date(), new Date(Date.now() + 5000));
    expect(get().canonicalHost).toBe('h.example');

    write({ writableGroups: 'oops', extra: 1 });
    fs.utimesSync(path.join(dir, 'config.json'), new Date(), new Date(Date.now() + 10_000));
    expect(get().canonicalHost).toBe('h.example');

    fs.rmSync(path.join(dir, 'config.json'));
    expect(get().canonicalHost).toBeUndefined();
  });

  it('throws at startup when the file is invalid', () => {
    write({ nope: 1 });
    expect(() => serverConfigReader(dir)).toThrow(ConfigError);
  });
});
