import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { WsClient } from './helpers/wsClient.js';

const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
const ROOT = basic('root', 'root-pw');
const DAY = 24 * 3600 * 1000;

describe('admin API /galene-api/v0/', () => {
  let server: TestServer;
  const open: WsClient[] = [];
  const api = (p: string, init: RequestInit & { auth?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.auth !== null) headers.set('Authorization', init.auth ?? ROOT);
    return fetch(`${server.url}/galene-api/v0/${p}`, { ...init, headers });
  };
  const json = (body: unknown, extra: Record<string, string> = {}) => ({
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json', ...extra },
  });
  const groupFile = (g: string) => JSON.parse(fs.readFileSync(path.join(server.dir, 'groups', `${g}.json`), 'utf8'));

  beforeAll(async () => {
    server = await startTestServer({
      config: {
        users: { root: { password: 'root-pw', permissions: 'admin' } },
        writableGroups: true,
        allowAdminOrigin: ['https://admin.example'],
      },
      groups: {
        lecture: {
          displayName: 'Physics',
          users: {
            teacher: { password: 'pw', permissions: 'op' },
            manager: { password: 'mgr', permissions: 'admin' },
          },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
        other: { users: { teacher: { password: 'pw', permissions: 'op' } } },
      },
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await server.stop();
  });

  describe('authentication', () => {
    it('401 with WWW-Authenticate without or with wrong credentials; config.json admins get in', async () => {
      for (const auth of [null, basic('root', 'nope'), basic('teacher', 'pw'), 'Bearer nosuchtoken']) {
        const res = await api('.groups/', { auth });
        expect(res.status, String(auth)).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm=/);
        expect(await res.text()).toBe('not authorised\n');
      }
      const res = await api('.groups/');
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(['lecture', 'other']);
    });

    it("a group user with admin manages that group only", async () => {
      const manager = basic('manager', 'mgr');
      expect((await api('.groups/lecture', { auth: manager })).status).toBe(200);
      expect((await api('.groups/other', { auth: manager })).status).toBe(401);
      expect((await api('.groups/', { auth: manager })).status).toBe(401);
      expect((await api('.stats', { auth: manager })).status).toBe(401);
    });

    it('a Bearer stateful token with admin works for its group', async () => {
      const made = await api('.groups/lecture/.tokens/', {
        method: 'POST',
        ...json({ permissions: ['admin'], expires: new Date(Date.now() + DAY).toISOString() }),
      });
      expect(made.status).toBe(201);
      const bearer = `Bearer ${made.headers.get('location')}`;
      expect((await api('.groups/lecture', { auth: bearer })).status).toBe(200);
      expect((await api('.groups/other', { auth: bearer })).status).toBe(401);
      const plain = await api('.groups/lecture/.tokens/', {
        method: 'POST',
        ...json({ permissions: ['present'], expires: new Date(Date.now() + DAY).toISOString() }),
      });
      expect((await api('.groups/lecture', { auth: `Bearer ${plain.headers.get('location')}` })).status).toBe(401);
    });

    it('.stats answers admins', async () => {
      expect((await api('.stats', { auth: null })).status).toBe(401);
      const res = await api('.stats');
      expect(res.status).toBe(200);
      expect(Array.isArray(await res.json())).toBe(true);
    });
  });

  describe('groups', () => {
    it('GET strips users and keys and gives an ETag; If-None-Match with it gives 304', async () => {
      const res = await api('.groups/lecture');
      expect(res.status).toBe(200);
      const etag = res.headers.get('etag')!;
      expect(etag).toMatch(/^"\d+-\d+/);
      expect(await res.json()).toEqual({ displayName: 'Physics' });
      expect((await api('.groups/lecture', { headers: { 'If-None-Match': etag } })).status).toBe(304);
      expect((await api('.groups/nosuch')).status).toBe(404);
    });

    it('create with If-None-Match: *, edit with If-Match, 412 on a stale or clashing precondition, delete', async () => {
      const desc = { displayName: 'Chemistry', public: true };
      let res = await api('.groups/chem', { method: 'PUT', ...json(desc, { 'If-None-Match': '*' }) });
      expect(res.status).toBe(201);
      res = await api('.groups/chem', { method: 'PUT', ...json(desc, { 'If-None-Match': '*' }) });
      expect(res.status).toBe(412);

      const first = (await api('.groups/chem')).headers.get('etag')!;
      // The store rescans after a write: the group is live at once.
      const status = await fetch(`${server.url}/group/chem/.status`);
      expect(await status.json()).toMatchObject({ name: 'chem', displayName: 'Chemistry' });

      res = await api('.groups/chem', { method: 'PUT', ...json({ displayName: 'Organic chemistry' }, { 'If-Match': first }) });
      expect(res.status).toBe(204);
      const second = (await api('.groups/chem')).headers.get('etag')!;
      expect(second).not.toBe(first);
      res = await api('.groups/chem', { method: 'PUT', ...json({ displayName: 'Lost update' }, { 'If-Match': first }) });
      expect(res.status).toBe(412);
      expect(groupFile('chem')).toEqual({ displayName: 'Organic chemistry' });

      expect((await api('.groups/chem', { method: 'DELETE', headers: { 'If-Match': first } })).status).toBe(412);
      expect((await api('.groups/chem', { method: 'DELETE', headers: { 'If-Match': second } })).status).toBe(204);
      expect((await api('.groups/chem')).status).toBe(404);
      expect((await fetch(`${server.url}/group/chem/.status`)).status).toBe(404);
    });

    it('a description PUT keeps users, wildcard user and keys, and may not set them', async () => {
      const etag = (await api('.groups/lecture')).headers.get('etag')!;
      let res = await api('.groups/lecture', { method: 'PUT', ...json({ users: {} }, { 'If-Match': etag }) });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/users cannot be set here/);
      res = await api('.groups/lecture', { method: 'PUT', ...json({ displayName: 'Physics 2' }, { 'If-Match': etag }) });
      expect(res.status).toBe(204);
      const file = groupFile('lecture');
      expect(file.displayName).toBe('Physics 2');
      expect(Object.keys(file.users)).toEqual(['teacher', 'manager']);
      expect(file['wildcard-user']).toEqual({ password: { type: 'wildcard' }, permissions: 'message' });
    });

    it('bad requests get clear errors: bad JSON 400, unknown key 400, wrong type 415, wrong method 405', async () => {
      let res = await api('.groups/x', { method: 'PUT', body: '{oops', headers: { 'Content-Type': 'application/json' } });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/^bad JSON/);
      res = await api('.groups/x', { method: 'PUT', ...json({ 'max-clients': 'many' }) });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/max-clients/);
      res = await api('.groups/x', { method: 'PUT', ...json({ nonsense: 1 }) });
      expect(res.status).toBe(400);
      expect(await res.text()).toMatch(/nonsense/);
      res = await api('.groups/x', { method: 'PUT', body: '{}', headers: { 'Content-Type': 'text/plain' } });
      expect(res.status).toBe(415);
      res = await api('.groups/lecture', { method: 'POST', ...json({}) });
      expect(res.status).toBe(405);
      expect(res.headers.get('allow')).toContain('PUT');
      expect((await api('.groups/../etc', { method: 'PUT', ...json({}) })).status).toBe(404);
      expect(fs.existsSync(path.join(server.dir, 'groups', 'x.json'))).toBe(false);
    });

    it('.keys: PUT a JWK set, DELETE it; a bad key is refused', async () => {
      const key = { kty: 'oct', alg: 'HS256', k: randomBytes(32).toString('base64url') };
      const put = (body: unknown) =>
        api('.groups/other/.keys', {
          method: 'PUT',
          body: JSON.stringify(body),
          headers: { 'Content-Type': 'application/jwk-set+json' },
        });
      expect((await put({ keys: [key] })).status).toBe(204);
      expect(groupFile('other').authKeys).toEqual([key]);
      expect(await (await api('.groups/other')).json()).toEqual({});
      const bad = await put({ keys: [{ kty: 'oct', alg: 'HS256', k: 'c2hvcnQ' }] });
      expect(bad.status).toBe(400);
      expect((await api('.groups/other/.keys', { method: 'DELETE' })).status).toBe(204);
      expect(groupFile('other').authKeys).toBeUndefined();
    });
  });

  describe('users and passwords', () => {
    it('create a user, POST a password, and log in with it over the WebSocket', async () => {
      let res = await api('.groups/lecture/.users/carol', { method: 'PUT', ...json({ permissions: 'present' }, { 'If-None-Match': '*' }) });
      expect(res.status).toBe(201);
      res = await api('.groups/lecture/.users/carol/.password', {
        method: 'POST',
        body: 'carol-secret',
        headers: { 'Content-Type': 'text/plain' },
      });
      expect(res.status).toBe(204);
      expect(groupFile('lecture').users.carol.password).toMatchObject({ type: 'bcrypt', key: expect.stringMatching(/^\$2[aby]\$08\$/) });

      const ok = await WsClient.join(server.wsUrl, 'lecture', 'carol', 'carol-secret');
      open.push(ok.c);
      expect(ok.joined).toMatchObject({ kind: 'join', username: 'carol' });
      expect(ok.joined.permissions?.sort()).toEqual(['message', 'present']);
      const bad = await WsClient.join(server.wsUrl, 'lecture', 'carol', 'wrong');
      open.push(bad.c);
      expect(bad.joined.kind).toBe('fail');

      const users = await api('.groups/lecture/.users/');
      expect(await users.json()).toEqual(['teacher', 'manager', 'carol']);
      const entry = await api('.groups/lecture/.users/carol');
      expect(await entry.json()).toEqual({ permissions: 'present' });
    });

    it('a user changes their own password by proving the old one; nobody else may', async () => {
      await api('.groups/lecture/.users/dave', { method: 'PUT', ...json({ permissions: 'message' }) });
      await api('.groups/lecture/.users/dave/.password', { method: 'PUT', ...json({ type: 'plain', key: 'old' }) });
      const change = (auth: string) =>
        api('.groups/lecture/.users/dave/.password', { method: 'POST', body: 'new', auth, headers: { 'Content-Type': 'text/plain' } });
      expect((await change(basic('dave', 'wrong'))).status).toBe(401);
      expect((await change(basic('teacher', 'pw'))).status).toBe(401);
      expect((await change(basic('dave', 'old'))).status).toBe(204);
      const r = await WsClient.join(server.wsUrl, 'lecture', 'dave', 'new');
      open.push(r.c);
      expect(r.joined.kind).toBe('join');
    });

    it('a PUT keeps the password and refuses to set one; a stale ETag gives 412; DELETE removes the user', async () => {
      const etag = (await api('.groups/lecture/.users/carol')).headers.get('etag')!;
      let res = await api('.groups/lecture/.users/carol', { method: 'PUT', ...json({ permissions: 'op', password: 'x' }) });
      expect(res.status).toBe(400);
      res = await api('.groups/lecture/.users/carol', { method: 'PUT', ...json({ permissions: 'op' }, { 'If-Match': etag }) });
      expect(res.status).toBe(204);
      expect(groupFile('lecture').users.carol).toMatchObject({ permissions: 'op', password: { type: 'bcrypt' } });
      res = await api('.groups/lecture/.users/carol', { method: 'DELETE', headers: { 'If-Match': etag } });
      expect(res.status).toBe(412);
      res = await api('.groups/lecture/.users/carol', { method: 'DELETE' });
      expect(res.status).toBe(204);
      expect((await api('.groups/lecture/.users/carol')).status).toBe(404);
      expect((await api('.groups/lecture/.users/carol/.password', { method: 'POST', body: 'x', headers: { 'Content-Type': 'text/plain' } })).status).toBe(404);
    });

    it('.wildcard-user and .empty-user', async () => {
      expect(await (await api('.groups/lecture/.wildcard-user')).json()).toEqual({ permissions: 'message' });
      expect((await api('.groups/lecture/.empty-user')).status).toBe(404);
      expect((await api('.groups/lecture/.empty-user', { method: 'PUT', ...json({ permissions: 'observe' }) })).status).toBe(201);
      expect(groupFile('lecture').users['']).toEqual({ permissions: 'observe' });
      expect((await api('.groups/lecture/.wildcard-user', { method: 'PUT', ...json({ permissions: 'present' }) })).status).toBe(204);
      expect(groupFile('lecture')['wildcard-user']).toEqual({ password: { type: 'wildcard' }, permissions: 'present' });
      // Permissions are validated like the group file.
      const bad = await api('.groups/lecture/.wildcard-user', { method: 'PUT', ...json({ permissions: 'superuser' }) });
      expect(bad.status).toBe(400);
    });
  });

  describe('tokens', () => {
    it('POST, list, GET, PUT with If-Match, join with it, DELETE', async () => {
      const expires = new Date(Date.now() + DAY).toISOString();
      let res = await api('.groups/lecture/.tokens/', { method: 'POST', ...json({ permissions: ['present'], expires }) });
      expect(res.status).toBe(201);
      const name = res.headers.get('location')!;
      expect(name).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect(await (await api('.groups/lecture/.tokens/')).json()).toContain(name);
      expect(await (await api('.groups/other/.tokens/')).json()).not.toContain(name);

      res = await api(`.groups/lecture/.tokens/${name}`);
      const etag = res.headers.get('etag')!;
      expect(await res.json()).toEqual({ permissions: ['present'], expires });
      expect((await api(`.groups/other/.tokens/${name}`)).status).toBe(404);

      const later = new Date(Date.now() + 2 * DAY).toISOString();
      res = await api(`.groups/lecture/.tokens/${name}`, { method: 'PUT', ...json({ permissions: ['present'], expires: later, username: 'eve' }, { 'If-Match': etag }) });
      expect(res.status).toBe(204);
      res = await api(`.groups/lecture/.tokens/${name}`, { method: 'PUT', ...json({ permissions: ['op'], expires: later }, { 'If-Match': etag }) });
      expect(res.status).toBe(412);
      res = await api(`.groups/other/.tokens/${name}`, { method: 'PUT', ...json({ permissions: [], expires: later }) });
      expect(res.status).toBe(409);

      const c = await WsClient.connect(server.wsUrl);
      open.push(c);
      await c.handshake();
      c.send({ type: 'join', kind: 'join', group: 'lecture', token: name });
      expect(await c.next((m) => m.type === 'joined')).toMatchObject({ kind: 'join', username: 'eve' });

      expect((await api(`.groups/lecture/.tokens/${name}`, { method: 'DELETE' })).status).toBe(204);
      expect((await api(`.groups/lecture/.tokens/${name}`)).status).toBe(404);
      const late = await WsClient.connect(server.wsUrl);
      open.push(late);
      await late.handshake();
      late.send({ type: 'join', kind: 'join', group: 'lecture', token: name });
      expect(await late.next((m) => m.type === 'joined')).toMatchObject({ kind: 'fail' });
    });

    it('refuses overspecified or unexpiring tokens', async () => {
      const expires = new Date(Date.now() + DAY).toISOString();
      for (const body of [{ group: 'lecture', permissions: [], expires }, { token: 'x', permissions: [], expires }, { permissions: [] }, { permissions: 'op', expires }]) {
        const res = await api('.groups/lecture/.tokens/', { method: 'POST', ...json(body) });
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      expect((await api('.groups/nosuch/.tokens/')).status).toBe(404);
    });
  });

  describe('CORS', () => {
    it('echoes allowAdminOrigin origins and answers preflights; other origins get no CORS headers', async () => {
      const ok = await api('.groups/', { headers: { Origin: 'https://admin.example' } });
      expect(ok.headers.get('access-control-allow-origin')).toBe('https://admin.example');
      const evil = await api('.groups/', { headers: { Origin: 'https://evil.example' } });
      expect(evil.headers.get('access-control-allow-origin')).toBeNull();
      const pre = await api('.groups/lecture', { method: 'OPTIONS', auth: null, headers: { Origin: 'https://admin.example' } });
      expect(pre.status).toBe(204);
      expect(pre.headers.get('access-control-allow-methods')).toContain('PUT');
      expect(pre.headers.get('access-control-allow-headers')).toContain('Authorization');
    });
  });
});

describe('admin API without writableGroups', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      config: { users: { root: { password: 'root-pw', permissions: 'admin' } } },
      groups: { lecture: { displayName: 'Physics', users: { bob: { password: 'pw', permissions: 'present' } } } },
    });
  });
  afterAll(() => server.stop());

  it('reads work, writes are refused with 403 and leave the file alone', async () => {
    const url = (p: string) => `${server.url}/galene-api/v0/${p}`;
    const file = path.join(server.dir, 'groups', 'lecture.json');
    const before = fs.readFileSync(file, 'utf8');
    expect((await fetch(url('.groups/lecture'), { headers: { Authorization: ROOT } })).status).toBe(200);
    const writes: [string, RequestInit][] = [
      ['.groups/lecture', { method: 'PUT', body: '{"displayName":"x"}', headers: { 'Content-Type': 'application/json' } }],
      ['.groups/new', { method: 'PUT', body: '{}', headers: { 'Content-Type': 'application/json' } }],
      ['.groups/lecture', { method: 'DELETE' }],
      ['.groups/lecture/.users/bob/.password', { method: 'POST', body: 'x', headers: { 'Content-Type': 'text/plain' } }],
    ];
    for (const [p, init] of writes) {
      const res = await fetch(url(p), { ...init, headers: { ...init.headers, Authorization: ROOT } });
      expect(res.status, p).toBe(403);
      expect(await res.text()).toMatch(/writableGroups/);
    }
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    expect(fs.existsSync(path.join(server.dir, 'groups', 'new.json'))).toBe(false);
  });
});
