import bcrypt from 'bcryptjs';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { WsClient } from './helpers/wsClient.js';
import { signHs256 } from './helpers/jwt.js';

const salt = randomBytes(8);
const pbkdf2Key = pbkdf2Sync('pbkdf2-pw', salt, 4096, 32, 'sha256');
const hsKey = randomBytes(32);

const jwt = (claims: Record<string, unknown>) => signHs256(hsKey, claims);

describe('configuration in Galène formats, through the protocol', () => {
  let server: TestServer;
  const joins: WsClient[] = [];
  const join = async (group: string, username: string | undefined, password?: string, token?: string) => {
    const c = await WsClient.connect(server.wsUrl);
    joins.push(c);
    await c.handshake();
    c.send({ type: 'join', kind: 'join', group, username, password, token });
    return c.next((m) => m.type === 'joined');
  };

  beforeAll(async () => {
    server = await startTestServer({
      groups: {
        course: {
          users: {
            plain: { password: 'plain-pw', permissions: 'op' },
            hashed: {
              password: { type: 'pbkdf2', hash: 'sha-256', key: pbkdf2Key.toString('hex'), salt: salt.toString('hex'), iterations: 4096 },
              permissions: 'present',
            },
            crypted: { password: { type: 'bcrypt', key: bcrypt.hashSync('bcrypt-pw', 8) }, permissions: ['message', 'caption'] },
          },
          'wildcard-user': { password: 'guest-pw', permissions: 'observe' },
          'auto-subgroups': true,
          authKeys: [{ kty: 'oct', alg: 'HS256', k: hsKey.toString('base64url') }],
        },
        'physics/lab-a': { 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'present' } },
        legacy: { op: [{ username: 'boss', password: 'boss-pw' }], other: [{}] },
      },
    });
    fs.writeFileSync(path.join(server.dir, 'groups', 'broken.json'), '{"public": true, "max-clients": "many"}');
  });
  afterAll(async () => {
    for (const c of joins) c.close();
    await server.stop();
  });

  it.each([
    ['a plain password', 'plain', 'plain-pw', ['op', 'present', 'message', 'caption', 'token']],
    ['a pbkdf2 password', 'hashed', 'pbkdf2-pw', ['present', 'message']],
    ['a bcrypt password', 'crypted', 'bcrypt-pw', ['message', 'caption']],
    ['the wildcard user', 'anyone', 'guest-pw', []],
  ])('accepts %s', async (_what, user, pw, perms) => {
    const joined = await join('course', user, pw);
    expect(joined.kind).toBe('join');
    expect([...(joined.permissions ?? [])].sort()).toEqual([...perms].sort());
  });

  it.each([
    ['plain', 'wrong'],
    ['hashed', 'plain-pw'],
    ['crypted', ''],
    ['anyone', 'wrong'],
  ])('refuses %s with a wrong password', async (user, pw) => {
    expect(await join('course', user, pw)).toMatchObject({ kind: 'fail', value: 'not authorised' });
  });

  it('upgrades the legacy op/other arrays', async () => {
    expect((await join('legacy', 'boss', 'boss-pw')).permissions).toContain('op');
    expect((await join('legacy', 'someone', 'anything')).permissions).toEqual(['message']);
  });

  it('gives sub-folders hierarchical names, and creates auto-subgroups', async () => {
    expect(await join('physics/lab-a', 'kim')).toMatchObject({ kind: 'join', group: 'physics/lab-a' });
    expect(await join('course/room-2', 'anyone', 'guest-pw')).toMatchObject({ kind: 'join', group: 'course/room-2' });
    expect((await fetch(`${server.url}/group/physics/lab-a/.status`)).status).toBe(200);
  });

  it('logs in with a JWT signed by one of authKeys, and refuses a forged one', async () => {
    const now = Math.floor(Date.now() / 1000);
    const good = jwt({ sub: 'jwt-user', aud: `${server.url}/group/course/`, permissions: ['present'], iat: now, exp: now + 60 });
    expect(await join('course', undefined, undefined, good)).toMatchObject({ kind: 'join', username: 'jwt-user', permissions: ['present'] });
    const forged = `${good.slice(0, good.lastIndexOf('.'))}.${randomBytes(32).toString('base64url')}`;
    expect(await join('course', undefined, undefined, forged)).toMatchObject({ kind: 'fail', value: 'not authorised' });
    const expired = jwt({ sub: 'x', aud: `${server.url}/group/course/`, permissions: [], iat: now - 120, exp: now - 60 });
    expect(await join('course', undefined, undefined, expired)).toMatchObject({ kind: 'fail', value: 'not authorised' });
  });

  it('an invalid file is an error naming file, key and reason, and does not take down valid groups', async () => {
    expect((await fetch(`${server.url}/group/broken/.status`)).status).toBe(404);
    expect(await join('course', 'plain', 'plain-pw')).toMatchObject({ kind: 'join' });
  });

  it('reloads a group file when it changes', async () => {
    server.writeGroup('late', { 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' }, displayName: 'Late' });
    let status = 404;
    for (let i = 0; i < 40 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await fetch(`${server.url}/group/late/.status`)).status;
    }
    expect(status).toBe(200);
  });
});
