/**
 * data/cert.pem and key.pem replaced on disk: new TLS connections get the new pair, an open WebSocket goes on,
 * and a mismatched pair is refused (logged) with the current one kept.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import { generate } from 'selfsigned';
import { afterAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startServer, type LecternServer } from '../src/server.js';
import { waitFor } from './helpers/wait.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-tls-'));
let server: LecternServer | undefined;
afterAll(async () => {
  await server?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

async function pair(cn: string) {
  const p = await generate([{ name: 'commonName', value: cn }], { keyType: 'ec', curve: 'P-256', algorithm: 'sha256' });
  return { cert: p.cert, key: p.private, fingerprint: new crypto.X509Certificate(p.cert).fingerprint256 };
}

function servedFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      resolve(s.getPeerCertificate().fingerprint256);
      s.end();
    });
    s.once('error', reject);
  });
}

function reply(ws: WebSocket, type: string): Promise<unknown> {
  return new Promise((resolve) => {
    const on = (data: WebSocket.RawData) => {
      const m = JSON.parse(String(data));
      if (m.type !== type) return;
      ws.off('message', on);
      resolve(m);
    };
    ws.on('message', on);
  });
}

describe('TLS certificate reload', () => {
  it('serves a replaced pair to new connections, keeps the open WebSocket, refuses a mismatched pair', async () => {
    const [a, b] = [await pair('cert-a'), await pair('cert-b')];
    const dataDir = path.join(dir, 'data');
    fs.mkdirSync(dataDir);
    fs.writeFileSync(path.join(dataDir, 'cert.pem'), a.cert);
    fs.writeFileSync(path.join(dataDir, 'key.pem'), a.key);
    const lines: { msg: string }[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    server = await startServer({
      host: '127.0.0.1', port: 0, insecure: false, dataDir,
      groupsDir: path.join(dir, 'groups'), recordingsDir: path.join(dir, 'recordings'), staticDir: undefined,
      ice: { hostAddresses: ['127.0.0.1'] }, logLevel: 'silent', log,
    });
    const { port } = server.address;
    expect(await servedFingerprint(port)).toBe(a.fingerprint);

    const ws = new WebSocket(`wss://127.0.0.1:${port}/ws`, { rejectUnauthorized: false });
    await new Promise((r, j) => (ws.once('open', r), ws.once('error', j)));
    const hello = reply(ws, 'handshake');
    ws.send(JSON.stringify({ type: 'handshake', version: ['2'], id: 'tls-reload-client' }));
    await hello;

    fs.writeFileSync(path.join(dataDir, 'cert.pem'), b.cert);
    fs.writeFileSync(path.join(dataDir, 'key.pem'), b.key);
    await waitFor(() => lines.some((l) => l.msg === 'TLS certificate reloaded'), 10_000, 'the reload');
    expect(await servedFingerprint(port)).toBe(b.fingerprint);
    const pong = reply(ws, 'pong');
    ws.send(JSON.stringify({ type: 'ping' }));
    await pong; // the WebSocket opened with cert A still works
    expect(ws.readyState).toBe(WebSocket.OPEN);

    fs.writeFileSync(path.join(dataDir, 'cert.pem'), a.cert); // cert A with key B: refused
    await waitFor(() => lines.some((l) => l.msg === 'TLS certificate not reloaded (keeping the current one)'), 10_000, 'the refusal');
    expect(await servedFingerprint(port)).toBe(b.fingerprint);
    ws.close();
  });
});
