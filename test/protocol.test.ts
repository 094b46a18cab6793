import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { WsClient } from './helpers/wsClient.js';

const LECTURE = {
  public: true,
  displayName: 'Physics 101',
  users: {
    teacher: { password: 'teacher-pw', permissions: 'op' },
    bob: { password: 'bob-pw', permissions: 'present' },
  },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
};

describe('protocol v2 over a real WebSocket', () => {
  let server: TestServer;
  const open: WsClient[] = [];
  const join = async (group: string, username: string, password?: string) => {
    const r = await WsClient.join(server.wsUrl, group, username, password);
    open.push(r.c);
    return r;
  };

  beforeAll(async () => {
    server = await startTestServer({
      groups: {
        lecture: LECTURE,
        small: { 'max-clients': 1, 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'present' } },
        watch: { 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' } },
        old: { redirect: 'https://example.org/elsewhere' },
        seminar: {
          autolock: true,
          autokick: false,
          'auto-subgroups': true,
          users: { prof: { password: 'pw', permissions: 'op' } },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'present' },
        },
        guarded: {
          autokick: true,
          users: { prof: { password: 'pw', permissions: 'op' } },
          'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' },
        },
        future: { 'not-before': '2999-01-01T00:00:00Z', 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' } },
        past: { expires: '2000-01-01T00:00:00Z', 'wildcard-user': { password: { type: 'wildcard' }, permissions: 'message' } },
      },
    });
  });
  afterAll(async () => {
    for (const c of open) c.close();
    await server.stop();
  });

  describe('handshake', () => {
    it('answers with version 2', async () => {
      const c = await WsClient.connect(server.wsUrl);
      open.push(c);
      c.send({ type: 'handshake', version: ['2'], id: c.id });
      expect(await c.next((m) => m.type === 'handshake')).toEqual({ type: 'handshake', version: ['2'] });
    });

    it('closes with 1002 when the first message is not a handshake', async () => {
      const c = await WsClient.connect(server.wsUrl);
      open.push(c);
      c.send({ type: 'join', kind: 'join', group: 'lecture', username: 'x' });
      expect(await c.closed()).toBe(1002);
    });

    it('warns a client that does not speak version 2, and carries on', async () => {
      const c = await WsClient.connect(server.wsUrl);
      open.push(c);
      c.send({ type: 'handshake', version: ['1'], id: c.id });
      await c.next((m) => m.type === 'handshake');
      expect(await c.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'warning' });
      c.send({ type: 'ping' });
      await c.next((m) => m.type === 'pong');
    });
  });

  describe('join', () => {
    it('succeeds with a password, and lists the users', async () => {
      const { c, joined } = await join('lecture', 'teacher', 'teacher-pw');
      expect(joined).toMatchObject({ kind: 'join', group: 'lecture', username: 'teacher' });
      expect(joined.permissions).toEqual(expect.arrayContaining(['op', 'present', 'message']));
      expect(joined.status).toMatchObject({ name: 'lecture', displayName: 'Physics 101', locked: false });
      expect(joined.rtcConfiguration).toEqual({ iceServers: [] });
      expect(await c.next((m) => m.type === 'user')).toMatchObject({ kind: 'add', id: c.id, username: 'teacher' });
      c.close();
    });

    it.each([
      ['a wrong password', 'lecture', 'teacher', 'wrong', 'not authorised'],
      ['an unknown group', 'nosuch', 'x', 'y', 'group does not exist'],
    ])('fails with %s', async (_what, group, user, pw, value) => {
      const { joined } = await join(group, user, pw);
      expect(joined).toMatchObject({ type: 'joined', kind: 'fail', group, value });
    });

    it('fails when the group is locked, unless one is an op', async () => {
      const { c: op } = await join('lecture', 'teacher', 'teacher-pw');
      op.send({ type: 'groupaction', kind: 'lock', source: op.id, username: 'teacher', value: 'exam in progress' });
      await op.next((m) => m.type === 'joined' && m.kind === 'change');
      const { joined } = await join('lecture', 'student');
      expect(joined).toMatchObject({ kind: 'fail', value: 'exam in progress' });
      const { joined: opJoined } = await join('lecture', 'teacher', 'teacher-pw');
      expect(opJoined.kind).toBe('join');
      op.send({ type: 'groupaction', kind: 'unlock', source: op.id, username: 'teacher' });
      await op.next((m) => m.type === 'joined' && m.kind === 'change' && !(m.status as { locked?: boolean }).locked);
      const { joined: again } = await join('lecture', 'student');
      expect(again.kind).toBe('join');
      for (const c of open) c.close();
    });

    it('fails with "too many users" past max-clients', async () => {
      const { joined: first } = await join('small', 'one');
      expect(first.kind).toBe('join');
      const { joined } = await join('small', 'two');
      expect(joined).toMatchObject({ kind: 'fail', value: 'too many users' });
    });

    it('answers a redirected group with kind redirect', async () => {
      const { joined } = await join('old', 'x');
      expect(joined).toMatchObject({ kind: 'redirect', value: 'https://example.org/elsewhere' });
    });

    it.each([
      ['future', 'this group is not open yet'],
      ['past', 'this group is closed'],
    ])('refuses to join %s outside its not-before/expires window', async (group, value) => {
      expect((await join(group, 'x')).joined).toMatchObject({ kind: 'fail', value });
    });

    it('autolock: locked until an op comes, and locked again when the last op leaves', async () => {
      expect((await join('seminar', 'early')).joined).toMatchObject({ kind: 'fail', value: 'this group is locked' });
      const { c: prof } = await join('seminar', 'prof', 'pw');
      prof.send({ type: 'groupaction', kind: 'unlock', source: prof.id, username: 'prof' });
      await prof.next((m) => m.type === 'joined' && m.kind === 'change');
      const { c: student, joined } = await join('seminar', 'student');
      expect(joined.kind).toBe('join');
      prof.close();
      const change = await student.next((m) => m.type === 'joined' && m.kind === 'change');
      expect(change.status).toMatchObject({ locked: true });
      student.close();
    });

    it('autokick: nobody may join without an op, and everyone is kicked when the last op leaves', async () => {
      expect((await join('guarded', 'early')).joined).toMatchObject({ kind: 'fail', value: 'there are no operators in this group' });
      const { c: prof } = await join('guarded', 'prof', 'pw');
      const { c: student } = await join('guarded', 'student');
      prof.close();
      expect(await student.next((m) => m.type === 'usermessage' && m.kind === 'kicked')).toMatchObject({
        value: 'there are no operators in this group',
      });
      expect(await student.closed()).toBe(1000);
    });

    it('answers leave with joined of kind leave', async () => {
      const { c } = await join('lecture', 'leaver');
      c.send({ type: 'join', kind: 'leave', group: 'lecture', username: 'leaver', source: c.id });
      expect(await c.next((m) => m.type === 'joined' && m.kind === 'leave')).toMatchObject({ group: 'lecture' });
    });
  });

  describe('chat', () => {
    it('broadcasts chat, keeps history for a late joiner, and delivers private messages only to their dest', async () => {
      const { c: alice } = await join('lecture', 'alice');
      const { c: bob } = await join('lecture', 'bob', 'bob-pw');
      alice.send({ type: 'chat', source: alice.id, username: 'alice', value: 'hello class' });
      const got = await bob.next((m) => m.type === 'chat');
      expect(got).toMatchObject({ source: alice.id, username: 'alice', value: 'hello class' });
      expect(got.privileged).toBeUndefined();
      expect(got.id).toMatch(/^[A-Za-z0-9_-]{11}$/);
      expect(Date.parse(got.time!)).not.toBeNaN();
      await alice.next((m) => m.type === 'chat'); // echoed back to the sender

      bob.send({ type: 'usermessage', kind: 'info', source: bob.id, username: 'bob', dest: alice.id, value: 'psst' });
      expect(await alice.next((m) => m.type === 'usermessage' && m.kind === 'info')).toMatchObject({ value: 'psst', source: bob.id });

      const { c: late } = await join('lecture', 'late');
      const history = await late.next((m) => m.type === 'chathistory');
      expect(history).toMatchObject({ source: alice.id, username: 'alice', value: 'hello class' });
      // the private message was neither stored nor sent to anyone else
      await new Promise((r) => setTimeout(r, 200));
      expect([...late.received, ...bob.received].some((m) => m.value === 'psst')).toBe(false);
      alice.close();
      bob.close();
      late.close();
    });

    it('refuses chat without the message permission', async () => {
      const { c } = await join('watch', 'observer');
      c.send({ type: 'chat', source: c.id, username: 'observer', value: 'hi' });
      expect(await c.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'error', value: 'not authorised' });
    });
  });

  describe('permissions and actions', () => {
    it('does not let an observer publish, and nobody is offered its stream', async () => {
      const { c: viewer } = await join('watch', 'viewer');
      viewer.send({ type: 'request', source: viewer.id, request: { '': ['audio', 'video'] } });
      const { c: observer } = await join('watch', 'sneaky');
      const streamId = 'a'.repeat(32);
      observer.send({ type: 'offer', id: streamId, label: 'camera', source: observer.id, username: 'sneaky', sdp: 'v=0\r\n' });
      expect(await observer.next((m) => m.type === 'abort')).toMatchObject({ id: streamId });
      expect(await observer.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'error', value: 'not authorised' });
      await new Promise((r) => setTimeout(r, 300));
      expect(viewer.received.some((m) => m.type === 'offer')).toBe(false);
    });

    it('lets an op kick a user, who is told why and disconnected', async () => {
      const { c: op } = await join('lecture', 'teacher', 'teacher-pw');
      const { c: victim } = await join('lecture', 'noisy');
      op.send({ type: 'useraction', kind: 'kick', source: op.id, username: 'teacher', dest: victim.id, value: 'be quiet' });
      expect(await victim.next((m) => m.type === 'usermessage' && m.kind === 'kicked')).toMatchObject({
        value: 'be quiet',
        id: op.id,
        username: 'teacher',
      });
      expect(await victim.closed()).toBe(1000);
      expect(await op.next((m) => m.type === 'user' && m.kind === 'delete')).toMatchObject({ id: victim.id });
      op.close();
    });

    it('refuses kick from a non-op', async () => {
      const { c: a } = await join('lecture', 'a');
      const { c: b } = await join('lecture', 'b');
      a.send({ type: 'useraction', kind: 'kick', source: a.id, username: 'a', dest: b.id });
      expect(await a.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'error', value: 'not authorised' });
      expect(b.closeCode).toBeUndefined();
      a.close();
      b.close();
    });

    it('lets an op grant present and shut a user up, and tells everyone', async () => {
      const { c: op } = await join('lecture', 'teacher', 'teacher-pw');
      const { c: s } = await join('lecture', 'carol');
      op.send({ type: 'useraction', kind: 'present', source: op.id, username: 'teacher', dest: s.id });
      const changed = await s.next((m) => m.type === 'joined' && m.kind === 'change');
      expect(changed.permissions).toContain('present');
      expect(await op.next((m) => m.type === 'user' && m.kind === 'change' && m.id === s.id)).toMatchObject({
        permissions: expect.arrayContaining(['present']),
      });
      op.send({ type: 'useraction', kind: 'shutup', source: op.id, username: 'teacher', dest: s.id });
      const muted = await s.next((m) => m.type === 'joined' && m.kind === 'change');
      expect(muted.permissions).not.toContain('message');
      s.send({ type: 'chat', source: s.id, username: 'carol', value: 'can I?' });
      expect(await s.next((m) => m.type === 'usermessage' && m.kind === 'error')).toMatchObject({ value: 'not authorised' });
      op.close();
      s.close();
    });

    it('raise hand: setdata on oneself is broadcast as a user change', async () => {
      const { c: a } = await join('lecture', 'dave');
      const { c: b } = await join('lecture', 'erin');
      a.send({ type: 'useraction', kind: 'setdata', source: a.id, username: 'dave', dest: a.id, value: { raisehand: true } });
      expect(await b.next((m) => m.type === 'user' && m.kind === 'change' && m.id === a.id)).toMatchObject({ data: { raisehand: true } });
      a.send({ type: 'useraction', kind: 'setdata', source: a.id, username: 'dave', dest: b.id, value: { x: 1 } });
      expect(await a.next((m) => m.type === 'usermessage' && m.kind === 'error')).toMatchObject({ value: 'not authorised' });
      a.close();
      b.close();
    });

    it('op and unop change permissions; identify tells the op the address and warns the user', async () => {
      const { c: op } = await join('lecture', 'teacher', 'teacher-pw');
      const { c: s } = await join('lecture', 'gina');
      op.send({ type: 'useraction', kind: 'op', source: op.id, username: 'teacher', dest: s.id });
      expect((await s.next((m) => m.type === 'joined' && m.kind === 'change')).permissions).toContain('op');
      op.send({ type: 'useraction', kind: 'unop', source: op.id, username: 'teacher', dest: s.id });
      expect((await s.next((m) => m.type === 'joined' && m.kind === 'change')).permissions).not.toContain('op');
      op.send({ type: 'useraction', kind: 'identify', source: op.id, username: 'teacher', dest: s.id });
      const info = await op.next((m) => m.type === 'usermessage' && m.kind === 'userinfo');
      expect(info.value).toMatchObject({ id: s.id, username: 'gina', address: expect.stringMatching(/^(127\.0\.0\.1|::ffff:127\.0\.0\.1):\d+$/) });
      expect(await s.next((m) => m.type === 'usermessage' && m.kind === 'warning')).toMatchObject({
        value: expect.stringContaining('teacher'),
      });
      op.close();
      s.close();
    });

    it('subgroups lists the live breakout groups to an op, as a private message from "Server"', async () => {
      const { c: prof } = await join('seminar', 'prof', 'pw');
      prof.send({ type: 'groupaction', kind: 'unlock', source: prof.id, username: 'prof' });
      const { c: a } = await join('seminar/room-a', 'prof', 'pw');
      a.send({ type: 'groupaction', kind: 'unlock', source: a.id, username: 'prof' }); // subgroups inherit autolock
      await a.next((m) => m.type === 'joined' && m.kind === 'change');
      const { c: b, joined } = await join('seminar/room-a', 'ana');
      expect(joined.kind).toBe('join');
      prof.send({ type: 'groupaction', kind: 'subgroups', source: prof.id, username: 'prof' });
      const reply = await prof.next((m) => m.type === 'chat' && m.username === 'Server');
      expect(reply).toMatchObject({ dest: prof.id, value: 'seminar/room-a (2 clients)\n' });
      b.send({ type: 'groupaction', kind: 'subgroups', source: b.id, username: 'ana' });
      expect(await b.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'error', value: 'not authorised' });
      for (const c of [prof, a, b]) c.close();
    });

    it('group setdata and clearchat reach every member', async () => {
      const { c: op } = await join('lecture', 'teacher', 'teacher-pw');
      const { c: s } = await join('lecture', 'frank');
      op.send({ type: 'groupaction', kind: 'setdata', source: op.id, username: 'teacher', value: { topic: 'optics' } });
      expect(await s.next((m) => m.type === 'joined' && m.kind === 'change')).toMatchObject({ data: { topic: 'optics' } });
      op.send({ type: 'groupaction', kind: 'clearchat', source: op.id, username: 'teacher' });
      expect(await s.next((m) => m.type === 'usermessage' && m.kind === 'clearchat')).toMatchObject({ privileged: true });
      op.close();
      s.close();
    });
  });

  describe('bad input', () => {
    it.each([
      ['a spoofed source', (c: WsClient) => c.send({ type: 'chat', source: 'someone-else', username: 'mallory', value: 'x' }), 'spoofed client id'],
      ['a spoofed username', (c: WsClient) => c.send({ type: 'chat', source: c.id, username: 'teacher', value: 'x' }), 'spoofed username'],
      ['malformed JSON', (c: WsClient) => c.sendRaw('{"type": "chat", '), 'malformed JSON'],
      ['an unknown type', (c: WsClient) => c.send({ type: 'teleport', source: c.id }), 'unexpected message type "teleport"'],
      ['a field of the wrong type', (c: WsClient) => c.sendRaw('{"type":"chat","id":42}'), 'field "id" must be a string'],
    ])('%s gets an error and a close with 1002, and other sessions carry on', async (_what, misbehave, error) => {
      const { c: good } = await join('lecture', 'good');
      const { c: bad } = await join('lecture', 'mallory');
      misbehave(bad);
      expect(await bad.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'error', value: error });
      expect(await bad.closed()).toBe(1002);
      good.send({ type: 'chat', source: good.id, username: 'good', value: 'still here' });
      expect(await good.next((m) => m.type === 'chat' && m.value === 'still here')).toBeTruthy();
      good.close();
    });

    it.each([
      ['garbage SDP', 'this is not SDP'],
      ['an SDP with no media', 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n'],
    ])('an offer with %s is aborted with an error, and the session carries on', async (_what, sdp) => {
      const { c } = await join('lecture', 'bob', 'bob-pw');
      const id = 'b'.repeat(32);
      c.send({ type: 'offer', id, label: 'camera', source: c.id, username: 'bob', sdp });
      expect(await c.next((m) => m.type === 'abort')).toMatchObject({ id });
      expect(await c.next((m) => m.type === 'usermessage')).toMatchObject({ kind: 'error' });
      c.send({ type: 'ping' });
      await c.next((m) => m.type === 'pong');
      expect(c.closeCode).toBeUndefined();
      c.close();
    });

    it('an oversized frame closes that socket with 1009, and other sessions carry on', async () => {
      const { c: good } = await join('lecture', 'good2');
      const { c: bad } = await join('lecture', 'big');
      bad.sendRaw(JSON.stringify({ type: 'chat', source: bad.id, username: 'big', value: 'x'.repeat(1 << 20) }));
      expect(await bad.closed()).toBe(1009);
      good.send({ type: 'ping' });
      expect(await good.next((m) => m.type === 'pong')).toBeTruthy();
      good.close();
    });
  });

  describe('HTTP', () => {
    const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, { redirect: 'manual', ...init });

    it('serves .status, with the .status.json redirect', async () => {
      const res = await get('/group/lecture/.status');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({
        name: 'lecture',
        displayName: 'Physics 101',
        location: `${server.url}/group/lecture/`,
        endpoint: `ws://127.0.0.1:${server.address.port}/ws`,
        locked: false,
        clientCount: expect.any(Number),
      });
      const redirect = await get('/group/lecture/.status.json');
      expect(redirect.status).toBe(308);
      expect(redirect.headers.get('location')).toBe('/group/lecture/.status');
    });

    it('hides the client count of a private group', async () => {
      const body = await (await get('/group/watch/.status')).json();
      expect(body.clientCount).toBeUndefined();
    });

    it('lists public groups', async () => {
      const body = await (await get('/public-groups.json')).json();
      expect(body.map((g: { name: string }) => g.name)).toEqual(['lecture']);
    });

    it('redirects a group URL without its trailing slash, and a redirected group', async () => {
      const res = await get('/group/lecture?token=x');
      expect(res.status).toBe(308);
      expect(res.headers.get('location')).toBe('/group/lecture/?token=x');
      const old = await get('/group/old/');
      expect(old.status).toBe(308);
      expect(old.headers.get('location')).toBe('https://example.org/elsewhere');
    });

    it.each(['/group/nosuch/', '/group/../data/config.json', '/group/lecture%2F..%2F/', '/group/.hidden/'])('404 for %s', async (p) => {
      expect((await get(p)).status).toBe(404);
    });

    it('refuses a WebSocket from a foreign Origin', async () => {
      await expect(WsClient.connect(server.wsUrl, { Origin: 'https://evil.example' })).rejects.toThrow(/403/);
      const ok = await WsClient.connect(server.wsUrl, { Origin: server.url });
      ok.close();
    });
  });
});
