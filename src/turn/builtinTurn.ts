/**
 * Galène's `-turn` as `--turn`: the built-in TURN server and the ICE server entry clients get for it.
 *
 * - `""`: off.
 * - `auto` (the default): like `:1194`, but only while data/ice-servers.json does not exist (re-checked each
 *   time a client is given its ICE servers, as Galène re-checks its ICE configuration).
 * - `:PORT`: listen on each public IPv4 address (not RFC 1918, not loopback or link-local) among the server's
 *   media addresses (`--ice-address`, else every interface), UDP and TCP; no public address: not started.
 * - `IP:PORT`: always on; clients are told IP (e.g. the public address of a 1:1 NAT); it listens on IP if that is
 *   an address of this machine, else on every address (Galène always listens on every address).
 *
 * Unlike Galène (one fixed password per start), clients get TURN REST credentials valid for a day, minted
 * from a secret drawn at each start, so a password seen in one page cannot be used past its expiry.
 * Relays go only to the server's own media addresses (and UDP ports in `--udp-range` when given).
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import type { IceServer } from '../config/iceServers.js';
import { LecternError } from '../errors.js';
import type { Logger } from '../log.js';
import { mintRestCredential } from './credentials.js';
import { TurnServer } from './TurnServer.js';

export const TURN_REALM = 'lectern';
export const TURN_CREDENTIAL_LIFETIME_S = 86_400;
const AUTO_PORT = 1194;

export type TurnSetting = { mode: 'off' } | { mode: 'auto' } | { mode: 'public'; port: number } | { mode: 'fixed'; ip: string; port: number };

/** Parses `--turn`; throws a usage error for anything else. */
export function parseTurnSetting(v: string): TurnSetting {
  if (v === '') return { mode: 'off' };
  if (v === 'auto') return { mode: 'auto' };
  const m = /^([0-9.]*):(\d{1,5})$/.exec(v);
  const port = Number(m?.[2]);
  if (!m || port > 65535 || (m[1] && net.isIPv4(m[1]) === false)) {
    throw new LecternError('usage', `--turn: expected "auto", "" (off), ":PORT" or IPv4:PORT, got "${v}"`);
  }
  if (!m[1] || m[1] === '0.0.0.0') return { mode: 'public', port };
  return { mode: 'fixed', ip: m[1], port };
}

/** This machine's IPv4 addresses. */
function localIpv4(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((l) => (l ?? []).filter((a) => a.family === 'IPv4').map((a) => a.address));
}

/** Galène's test: global unicast IPv4 outside the RFC 1918 ranges. */
export function isPublicIpv4(ip: string): boolean {
  const p = ip.split('.').map(Number);
  if (p.length !== 4) return false;
  const [a, b] = p as [number, number, number, number];
  if (a === 0 || a === 127 || a >= 224 || (a === 169 && b === 254) || a === 10 || (a === 172 && b >= 16 && b < 32) || (a === 192 && b === 168)) return false;
  return !(a === 255);
}

export interface BuiltinTurnOptions {
  setting: TurnSetting;
  /** The media addresses (`--ice-address`), else every local address. */
  hostAddresses?: string[] | undefined;
  portRange?: [number, number] | undefined;
  iceServersFile: string;
  log: Logger;
}

export class BuiltinTurn {
  private readonly secret = randomBytes(20);
  private servers: { server: TurnServer; announce: string }[] = [];
  private starting: Promise<void> | undefined;
  private running = false;

  constructor(private readonly opts: BuiltinTurnOptions) {}

  private mediaAddresses(): string[] {
    return this.opts.hostAddresses?.length ? this.opts.hostAddresses : localIpv4();
  }

  private allowPeer = (peer: { ip: string; port: number }): boolean => {
    if (!this.mediaAddresses().includes(peer.ip)) return false;
    if (peer.port === 0) return true;
    const r = this.opts.portRange;
    return r ? peer.port >= r[0] && peer.port <= r[1] : peer.port >= 1024;
  };

  /** Starts or stops the server as the setting and data/ice-servers.json say; resolves once done. */
  update(): Promise<void> {
    const s = this.opts.setting;
    const want = s.mode === 'fixed' || s.mode === 'public' || (s.mode === 'auto' && !fs.existsSync(this.opts.iceServersFile));
    if (want === this.running) return this.starting ?? Promise.resolve();
    this.running = want;
    const prev = this.starting ?? Promise.resolve();
    this.starting = prev.then(() => (want ? this.start() : this.stop()));
    return this.starting;
  }

  private async start(): Promise<void> {
    const s = this.opts.setting;
    const log = this.opts.log;
    const port = s.mode === 'fixed' || s.mode === 'public' ? s.port : AUTO_PORT;
    const listens: { listenIp: string; announce: string }[] = [];
    if (s.mode === 'fixed') {
      listens.push({ listenIp: localIpv4().includes(s.ip) ? s.ip : '0.0.0.0', announce: s.ip });
    } else {
      for (const ip of this.mediaAddresses().filter((a) => net.isIPv4(a) && isPublicIpv4(a))) listens.push({ listenIp: ip, announce: ip });
      if (listens.length === 0) {
        log.info('built-in TURN server not started: no public IPv4 address (use --turn IP:PORT behind NAT, or data/ice-servers.json)');
        return;
      }
    }
    for (const l of listens) {
      const server = new TurnServer({
        listenIp: l.listenIp,
        port,
        relayBindIp: l.listenIp,
        relayAnnounceIp: l.announce,
        realm: TURN_REALM,
        secret: this.secret,
        allowPeer: this.allowPeer,
        log,
      });
      try {
        await server.start();
        this.servers.push({ server, announce: l.announce });
        log.info({ address: `${l.announce}:${server.port}`, listen: l.listenIp }, 'built-in TURN server listening (UDP and TCP)');
      } catch (err) {
        log.error({ address: `${l.listenIp}:${port}`, err: err instanceof Error ? err.message : String(err) }, 'built-in TURN server: cannot listen');
      }
    }
  }

  private async stop(): Promise<void> {
    const servers = this.servers;
    this.servers = [];
    if (servers.length) this.opts.log.info('stopping the built-in TURN server');
    await Promise.all(servers.map((s) => s.server.close()));
  }

  /** The ICE server entry for clients (none while the server is not running), with fresh credentials. */
  iceServers(clientId?: string, nowMs = Date.now()): IceServer[] {
    void this.update();
    if (this.servers.length === 0) return [];
    const urls = this.servers.flatMap(({ server, announce }) => [`turn:${announce}:${server.port}`, `turn:${announce}:${server.port}?transport=tcp`]);
    return [{ urls, ...mintRestCredential(this.secret, clientId ?? 'lectern', TURN_CREDENTIAL_LIFETIME_S, nowMs) }];
  }

  async close(): Promise<void> {
    this.running = false;
    await (this.starting ?? Promise.resolve());
    await this.stop();
  }
}
