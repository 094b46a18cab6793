import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import type { StatefulToken } from '../src/group/tokens/StatefulToken.js';
import { PURGE_AFTER_MS, TokenStore } from '../src/group/tokens/TokenStore.js';
import type { Message } from '../src/signal/messages.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { WsClient } from './helpers/wsClient.js';

const DAY = 24 * 3600 * 1000;

describe('stateful tokens over the protocol', () => {
  let server: TestServer;
  const open: WsClient[] = [];
  const tokensFile = () => path.join(server.dir, 'data', 'var', 'tokens.jsonl');

  const join = async (group: string, username: string, password: string) => {
    const r = await WsClient.join(server.wsUrl, group, username, password);
    open.push(r.c);
    expect(r.joined.kind).toBe('join');
    return r.c;
  };
  /** Joins with a token; `username` undefined sends none, as Galène's client does when it probes. */
  const joinWithToken = async (group: string, token: string, username?: string) => {
    const c = await WsClient.connect(server.wsUrl);
    open.push(c);
    await c.handshake();
    c.send({ type: 'join', kind: 'join', group, token, ...(username !== undefined ? { username } : {}) });
    return c.next((m) => m.type === 'joined');
  };
  const action = async (c: WsClient, kind: string, value?: unknown): Promise<Message> => {
    c.send({ type: 'groupaction', source: c.id, kind, value });
    return c.next((m) => m.type === 'usermessage' && (m.kind === 'token' || m.kind === 'tokenlist'));
  };

  beforeAll(async () => {
    server = await startTestServer({
      groups: {
        lecture: {
          users: {
            teacher: { password: 'pw', permissions: 'op' },
            bob: { password: 'pw', permissions: 'present' },
          },
        },
        open: {
          'unrestricted-tokens': true,
          users: { speaker: { password: 'pw', permissions: 'present' } },
        },
        other: { users: { teacher: { password: 'pw', permissions: 'op' } } },
      },
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await server.stop();
  });

  it('an op makes a token; it is stored in data/var/tokens.jsonl with Galène fields', async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const before = Date.now();
    const reply = await action(op, 'maketoken', {
      group: 'lecture',
      permissions: ['present', 'message'],
      expires: DAY,
    });
    expect(reply).toMatchObject({ type: 'usermessage', kind: 'token', privileged: true });
    expect(reply.error).toBeUndefined();
    const t = reply.value as StatefulToken;
    expect(t.token).toMatch(/^[A-Za-z0-9_-]{11}$/);
    expect(t).toMatchObject({ group: 'lecture', permissions: ['present', 'message'], issuedBy: 'teacher' });
    expect(Date.parse(t.expires!)).toBeGreaterThanOrEqual(before + DAY);
    expect(Date.parse(t.issuedAt!)).toBeGreaterThanOrEqual(before - 1000);
    const lines = fs.readFileSync(tokensFile(), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual(t);
  });

  it('joining with a token: need-username, duplicate-username, then admitted with its permissions', async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const t = (await action(op, 'maketoken', { group: 'lecture', permissions: ['present', 'message'], expires: DAY }))
      .value as StatefulToken;

    expect(await joinWithToken('lecture', t.token)).toMatchObject({ kind: 'fail', error: 'need-username' });
    expect(await joinWithToken('lecture', t.token, 'bob')).toMatchObject({ kind: 'fail', error: 'duplicate-username' });
    const ok = await joinWithToken('lecture', t.token, 'guest');
    expect(ok).toMatchObject({ kind: 'join', username: 'guest' });
    expect(ok.permissions?.sort()).toEqual(['message', 'present']);
    // A token is for its own group only.
    expect(await joinWithToken('other', t.token, 'guest2')).toMatchObject({ kind: 'fail' });
  });

  it("a token's username overrides the client's", async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const t = (
      await action(op, 'maketoken', { group: 'lecture', username: 'alice', permissions: ['message'], expires: DAY })
    ).value as StatefulToken;
    expect(await joinWithToken('lecture', t.token)).toMatchObject({ kind: 'join', username: 'alice', permissions: ['message'] });
    expect(await joinWithToken('lecture', t.token, 'mallory')).toMatchObject({ kind: 'join', username: 'alice' });
  });

  it('maketoken refuses what Galène refuses', async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const cases: [unknown, string, RegExp][] = [
      [{ group: 'other', permissions: [], expires: DAY }, 'error', /wrong group/],
      [{ group: 'lecture', permissions: [] }, 'error', /doesn't expire/],
      [{ group: 'lecture', token: 'mine', permissions: [], expires: DAY }, 'error', /client specified/],
      [{ group: 'lecture', username: 'bob', permissions: [], expires: DAY }, 'error', /taken/],
      [{ group: 'lecture', permissions: ['admin'], expires: DAY }, 'not-authorised', /not authorised/],
      [{ group: 'lecture', permissions: [], expires: 'tomorrow' }, 'error', /bad time/],
      ['not an object', 'error', /bad token value/],
    ];
    for (const [value, error, text] of cases) {
      const r = await action(op, 'maketoken', value);
      expect(r, JSON.stringify(value)).toMatchObject({ kind: 'token', error });
      expect(r.value).toMatch(text);
    }
  });

  it('without `token` a user cannot make, list or edit tokens; unrestricted-tokens lets a presenter invite', async () => {
    const bob = await join('lecture', 'bob', 'pw');
    expect(await action(bob, 'maketoken', { group: 'lecture', permissions: [], expires: DAY })).toMatchObject({
      kind: 'token',
      error: 'not-authorised',
    });
    expect(await action(bob, 'listtokens')).toMatchObject({ kind: 'tokenlist', error: 'not-authorised' });

    const speaker = await join('open', 'speaker', 'pw');
    const made = await action(speaker, 'maketoken', { group: 'open', permissions: ['message'], expires: DAY });
    expect(made.error).toBeUndefined();
    // ...but never more than the presenter holds, and listing needs op.
    expect(await action(speaker, 'maketoken', { group: 'open', permissions: ['op'], expires: DAY })).toMatchObject({
      error: 'not-authorised',
    });
    expect(await action(speaker, 'listtokens')).toMatchObject({ kind: 'tokenlist', error: 'not-authorised' });
  });

  it('listtokens lists the group tokens; edittoken moves expiry, and an expired token is refused', async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const t = (await action(op, 'maketoken', { group: 'lecture', permissions: ['message'], expires: DAY }))
      .value as StatefulToken;
    const list = await action(op, 'listtokens');
    expect(list.kind).toBe('tokenlist');
    expect((list.value as StatefulToken[]).map((x) => x.token)).toContain(t.token);
    expect((list.value as StatefulToken[]).every((x) => x.group === 'lecture')).toBe(true);

    expect(await action(op, 'edittoken', { token: t.token, permissions: ['op'] })).toMatchObject({
      error: 'error',
      value: 'this field cannot be edited',
    });
    const edited = await action(op, 'edittoken', { token: t.token, expires: '2001-01-01T00:00:00Z' });
    expect(edited).toMatchObject({ kind: 'token', value: { token: t.token, expires: '2001-01-01T00:00:00.000Z' } });
    const refused = await joinWithToken('lecture', t.token, 'late');
    expect(refused).toMatchObject({ kind: 'fail' });
    expect(refused.value).toMatch(/expired/);

    // Extending it lets it in again; a not-before in the future keeps it out.
    await action(op, 'edittoken', { token: t.token, expires: DAY });
    expect(await joinWithToken('lecture', t.token, 'late')).toMatchObject({ kind: 'join' });
    await action(op, 'edittoken', { token: t.token, 'not-before': '2999-01-01T00:00:00Z' });
    expect((await joinWithToken('lecture', t.token, 'later')).value).toMatch(/not valid yet/);
  });

  it("Galène's /revoke (edittoken with expires -1000 ms) shuts a token out but keeps it listed", async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const t = (await action(op, 'maketoken', { group: 'lecture', permissions: ['message'], expires: DAY }))
      .value as StatefulToken;
    expect(await joinWithToken('lecture', t.token, 'early')).toMatchObject({ kind: 'join' });
    const revoked = await action(op, 'edittoken', { token: t.token, expires: -1000 });
    expect(Date.parse((revoked.value as StatefulToken).expires!)).toBeLessThan(Date.now());
    expect(await joinWithToken('lecture', t.token, 'late')).toMatchObject({ kind: 'fail' });
    const list = (await action(op, 'listtokens')).value as StatefulToken[];
    expect(list.find((x) => x.token === t.token)?.expires).toBe((revoked.value as StatefulToken).expires);
  });

  it("an op cannot edit another group's token, and unknown tokens are refused", async () => {
    const op = await join('lecture', 'teacher', 'pw');
    const t = (await action(op, 'maketoken', { group: 'lecture', permissions: [], expires: DAY })).value as StatefulToken;
    const otherOp = await join('other', 'teacher', 'pw');
    expect(await action(otherOp, 'edittoken', { token: t.token, expires: 0 })).toMatchObject({
      error: 'error',
      value: 'no such token',
    });
    expect(await joinWithToken('lecture', 'AAAAAAAAAAA', 'x')).toMatchObject({ kind: 'fail', value: 'not authorised' });
  });
});

describe('TokenStore', () => {
  let dir: string;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-tokens-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('purges a token 7 days after it expired, not before', () => {
    let now = Date.parse('2030-01-01T00:00:00Z');
    const file = path.join(dir, 'purge', 'tokens.jsonl');
    const store = new TokenStore({ file, log: silentLogger, now: () => now, purgeEveryMs: 0 });
    const t = store.create({ group: 'g', permissions: [], expires: '2030-01-02T00:00:00Z' });
    const keep = store.create({ group: 'g', permissions: [], expires: '2030-02-01T00:00:00Z' });
    now = Date.parse('2030-01-02T00:00:00Z') + PURGE_AFTER_MS - 1;
    expect(store.purge()).toBe(0);
    expect(store.get(t.token)).toEqual(t);
    now += 2;
    expect(store.purge()).toBe(1);
    expect(store.get(t.token)).toBeUndefined();
    expect(new TokenStore({ file, log: silentLogger, purgeEveryMs: 0 }).list('g')).toEqual([keep]);
  });

  it('skips a corrupt line with a warning, keeps it in the file, and carries on', () => {
    const file = path.join(dir, 'corrupt.jsonl');
    const good = { token: 'abc', group: 'g', permissions: ['message'], expires: '2999-01-01T00:00:00Z' };
    fs.writeFileSync(file, `${JSON.stringify(good)}\n{"token": "half\n[1,2]\n`);
    const warnings: unknown[] = [];
    const log = { ...silentLogger, child: () => ({ warn: (o: unknown) => warnings.push(o), info() {}, error() {} }) };
    const store = new TokenStore({ file, log: log as never, purgeEveryMs: 0 });
    expect(store.list('g')).toEqual([good]);
    expect(warnings).toHaveLength(2);
    store.create({ group: 'g', permissions: [], expires: '2999-01-01T00:00:00Z' });
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toContain('{"token": "half');
    expect(store.list('g')).toHaveLength(2);
  });

  it('two stores on one file (another process, galenectl) see each other, and writes leave no temp files', () => {
    const file = path.join(dir, 'shared', 'tokens.jsonl');
    const a = new TokenStore({ file, log: silentLogger, purgeEveryMs: 0 });
    const b = new TokenStore({ file, log: silentLogger, purgeEveryMs: 0 });
    const made = [];
    for (let i = 0; i < 20; i++) {
      made.push((i % 2 ? a : b).create({ group: 'g', permissions: [], expires: `2999-01-01T00:00:${String(i).padStart(2, '0')}Z` }));
    }
    expect(a.list('g')).toEqual(made);
    expect(b.list('g')).toEqual(made);
    expect(b.delete(made[0]!.token)).toBe(true);
    expect(a.get(made[0]!.token)).toBeUndefined();
    expect(fs.readdirSync(path.dirname(file))).toEqual(['tokens.jsonl']);
  });

  it('rejects a token with a bad field', () => {
    const store = new TokenStore({ file: path.join(dir, 'bad.jsonl'), log: silentLogger, purgeEveryMs: 0 });
    expect(() => store.create({ group: 'g', permissions: [], expires: 'soon' })).toThrow(/RFC 3339/);
    expect(() => store.create({ group: 'g', permissions: 'op' as never, expires: '2999-01-01T00:00:00Z' })).toThrow(
      /permissions/,
    );
  });
});
