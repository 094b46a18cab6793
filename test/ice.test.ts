import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HMAC_CREDENTIAL_LIFETIME_S, mintIceServers, readIceServers, type IceServer } from '../src/config/iceServers.js';
import { silentLogger } from '../src/log.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { WsClient } from './helpers/wsClient.js';

const SECRET = 'coturn-shared-secret';
const hmacSha1 = (secret: string, username: string) => createHmac('sha1', secret).update(username).digest('base64');

/** A logger that keeps its JSON lines. */
function capturingLogger() {
  const lines: { level: number; msg: string; err?: string; file?: string }[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('hmac-sha1 ICE credentials (coturn shared secret)', () => {
  it('mints <expiry>:<name> and base64(HMAC-SHA1(secret, username)), valid for 24 h', () => {
    const now = Date.UTC(2030, 0, 1);
    const servers: IceServer[] = [
      { urls: ['turn:turn.example.org:3478'], credentialType: 'hmac-sha1', credential: SECRET },
      { urls: 'turns:turn.example.org:5349', username: 'lectern', credentialType: 'hmac-sha1', credential: SECRET },
      { urls: 'stun:stun.example.org' },
      { urls: 'turn:static.example.org', username: 'u', credential: 'p' },
    ];
    const [anon, named, stun, fixed] = mintIceServers(servers, 'client-42', now);
    const expiry = now / 1000 + HMAC_CREDENTIAL_LIFETIME_S;
    expect(anon).toEqual({ urls: ['turn:turn.example.org:3478'], username: `${expiry}:client-42`, credential: hmacSha1(SECRET, `${expiry}:client-42`) });
    expect(named).toEqual({ urls: 'turns:turn.example.org:5349', username: `${expiry}:lectern`, credential: hmacSha1(SECRET, `${expiry}:lectern`) });
    expect(stun).toEqual({ urls: 'stun:stun.example.org' });
    expect(fixed).toEqual({ urls: 'turn:static.example.org', username: 'u', credential: 'p' });
    // without a client id: Galène's bare expiry
    const [bare] = mintIceServers(servers.slice(0, 1), undefined, now);
    expect(bare!.username).toBe(`${expiry}`);
    expect(bare!.credential).toBe(hmacSha1(SECRET, `${expiry}`));
    expect(bare!.credential).not.toContain(SECRET);
  });

  it('refuses malformed files with a message that names the entry, and logs it instead of failing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-ice-'));
    try {
      const file = path.join(dir, 'ice-servers.json');
      const cases: [string, RegExp][] = [
        ['{"urls": "stun:x"}', /expected an array/],
        ['[{"username": "u"}]', /entry 0: "urls"/],
        ['[{"urls": "stun:x"}, {"urls": "turn:y", "credentialType": "hmac-sha1"}]', /entry 1: hmac-sha1 needs the shared secret/],
        ['[{"urls": "turn:y", "credentialType": "magic", "credential": "c"}]', /entry 0: unknown credentialType "magic"/],
        ['[{"urls": ["turn:y"], "credential": 5}]', /entry 0: "credential" must be a string/],
        ['[not json', /JSON/],
      ];
      for (const [text, reason] of cases) {
        fs.writeFileSync(file, text);
        const { log, lines } = capturingLogger();
        expect(readIceServers(file, log)).toEqual([]);
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatchObject({ level: 50, msg: 'ignoring invalid ice-servers.json: no ICE servers', file });
        expect(lines[0]!.err).toMatch(reason);
      }
      fs.rmSync(file);
      expect(readIceServers(file, silentLogger)).toEqual([]); // absent: none, silently
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('rtcConfiguration in joined', () => {
  let server: TestServer;
  let iceFile: string;
  const clients: WsClient[] = [];

  const join = async () => {
    const { c, joined } = await WsClient.join(server.wsUrl, 'g', 'alice', 'pw');
    clients.push(c);
    expect(joined.kind).toBe('join');
    return { id: c.id, rtc: joined.rtcConfiguration as { iceServers: IceServer[]; iceTransportPolicy?: string } };
  };

  beforeAll(async () => {
    server = await startTestServer({
      config: { relayOnly: true },
      groups: { g: { users: { alice: { password: 'pw', permissions: 'present' } } } },
    });
    iceFile = path.join(server.dir, 'data', 'ice-servers.json');
  });

  afterAll(async () => {
    for (const c of clients) c.close();
    await server?.stop();
  });

  it('gives each client its own hmac-sha1 credentials, passes static entries through, and asks for relay only', async () => {
    fs.writeFileSync(
      iceFile,
      JSON.stringify([
        { urls: ['turn:127.0.0.1:3478?transport=udp'], credentialType: 'hmac-sha1', credential: SECRET },
        { urls: 'turn:127.0.0.1:3479', username: 'static-user', credential: 'static-pass' },
      ]),
    );
    const before = Math.floor(Date.now() / 1000);
    const { id, rtc } = await join();
    expect(rtc.iceTransportPolicy).toBe('relay');
    const [minted, fixed] = rtc.iceServers;
    const m = /^(\d+):(.+)$/.exec(minted!.username!);
    expect(m).not.toBeNull();
    expect(m![2]).toBe(id);
    expect(Number(m![1])).toBeGreaterThanOrEqual(before + HMAC_CREDENTIAL_LIFETIME_S);
    expect(Number(m![1])).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + HMAC_CREDENTIAL_LIFETIME_S);
    expect(minted!.credential).toBe(hmacSha1(SECRET, minted!.username!));
    expect(JSON.stringify(rtc)).not.toContain(SECRET);
    expect(fixed).toEqual({ urls: 'turn:127.0.0.1:3479', username: 'static-user', credential: 'static-pass' });

    const other = await join();
    expect(other.rtc.iceServers[0]!.username).toMatch(new RegExp(`^\\d+:${other.id}$`));
  });

  it('reloads the file when it changes, and a broken file means no ICE servers rather than a failed join', async () => {
    fs.writeFileSync(iceFile, JSON.stringify([{ urls: 'stun:127.0.0.1:3478' }]));
    expect((await join()).rtc.iceServers).toEqual([{ urls: 'stun:127.0.0.1:3478' }]);
    fs.writeFileSync(iceFile, '[{"urls": "turn:127.0.0.1:3478", "credentialType": "hmac-sha1"}]');
    expect((await join()).rtc.iceServers).toEqual([]);
    fs.rmSync(iceFile);
    expect((await join()).rtc.iceServers).toEqual([]);
  });
});

describe('-relay-only', () => {
  it('the flag, without config.json, makes the ICE configuration clients get relay-only; by default it is not', async () => {
    for (const relayOnly of [true, false]) {
      const server = await startTestServer({ relayOnly, groups: { g: { users: { alice: { password: 'pw', permissions: 'present' } } } } });
      try {
        const { c, joined } = await WsClient.join(server.wsUrl, 'g', 'alice', 'pw');
        c.close();
        expect((joined.rtcConfiguration as { iceTransportPolicy?: string }).iceTransportPolicy).toBe(relayOnly ? 'relay' : undefined);
      } finally {
        await server.stop();
      }
    }
  });
});
