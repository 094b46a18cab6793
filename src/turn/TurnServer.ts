/**
 * A small TURN server (RFC 8656 subset): Allocate, Refresh, CreatePermission, ChannelBind, Send and Data
 * indications, ChannelData; clients reach it over UDP or TCP, relays are UDP. Long-term credentials in the
 * TURN REST API scheme (credentials.ts). Hardening: peers are only those `allowPeer` accepts (the built-in
 * server: the Lectern server's own media addresses), allocations are bounded per username and in total,
 * lifetimes are capped, and a malformed message is dropped (a TCP connection sending garbage is closed).
 */
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import type { Logger } from '../log.js';
import { checkRestUsername } from './credentials.js';
import {
  Attr, Class, Method, checkIntegrity, decodeXorAddress, encodeChannelData, encodeStun, encodeXorAddress, errorCodeAttr,
  fingerprintOk, frameLength, getAttr, isChannelData, isIpv6Address, longTermKey, parseStun, u32, type Address, type StunMessage,
} from './stun.js';

export interface TurnLimits {
  /** Allocations in total (default 1000) and per username (default 20: a client has a few PeerConnections, each allocating once per URL). */
  maxAllocations: number;
  maxAllocationsPerUser: number;
  /** Allocation lifetime: default and cap, seconds (RFC 8656: 600 and a server maximum; ours 3600). */
  defaultLifetimeS: number;
  maxLifetimeS: number;
  /** Permissions per allocation and TCP connections in total. */
  maxPermissions: number;
  maxTcpConnections: number;
}

export const DEFAULT_LIMITS: TurnLimits = {
  maxAllocations: 1000,
  maxAllocationsPerUser: 20,
  defaultLifetimeS: 600,
  maxLifetimeS: 3600,
  maxPermissions: 32,
  maxTcpConnections: 2000,
};

const PERMISSION_S = 300;
const CHANNEL_S = 600;
const NONCE_S = 600;
/** A TCP connection that holds no allocation this long is closed. */
const TCP_IDLE_MS = 30_000;
const MAX_TCP_BUFFER = 65_536 + 8;

export interface TurnServerOptions {
  /** Address to listen on (UDP and TCP, same port); port 0 picks one free for both. */
  listenIp: string;
  port: number;
  /** Where relay sockets bind, and the relayed address clients are told (e.g. the announced address). */
  relayBindIp: string;
  relayAnnounceIp: string;
  realm: string;
  /** The TURN REST secret. */
  secret: Buffer;
  /** Whether a client may relay to this peer (IP and UDP port; port 0: may the IP have a permission at all). */
  allowPeer(peer: Address): boolean;
  limits?: Partial<TurnLimits>;
  log: Logger;
}

interface Client {
  transport: 'udp' | 'tcp';
  remote: Address;
  send(b: Buffer): void;
}

interface Allocation {
  key: string;
  client: Client;
  username: string;
  hmacKey: Buffer;
  relay: dgram.Socket;
  relayPort: number;
  expiresAt: number;
  timer: NodeJS.Timeout;
  /** peer IP -> expiry (ms). */
  permissions: Map<string, number>;
  channelByNumber: Map<number, { peer: Address; expiresAt: number }>;
  channelByPeer: Map<string, number>;
}

export class TurnServer {
  private udp: dgram.Socket | undefined;
  private tcp: net.Server | undefined;
  private readonly tcpConns = new Set<net.Socket>();
  private readonly allocations = new Map<string, Allocation>();
  private readonly relayPorts = new Set<number>();
  private readonly nonceKey = randomBytes(16);
  private readonly limits: TurnLimits;
  private closed = false;
  port = 0;

  constructor(private readonly opts: TurnServerOptions) {
    this.limits = { ...DEFAULT_LIMITS, ...opts.limits };
  }

  get allocationCount(): number {
    return this.allocations.size;
  }

  /** Binds UDP and TCP on the same port (with port 0, retried until both get one). */
  async start(): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const udp = dgram.createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(this.opts.port, this.opts.listenIp, () => resolve());
      });
      const port = udp.address().port;
      const tcp = net.createServer((s) => this.onTcp(s));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, this.opts.listenIp, () => resolve());
        });
      } catch (err) {
        udp.close();
        if (this.opts.port === 0 && attempt < 10) continue;
        throw err;
      }
      udp.removeAllListeners('error');
      udp.on('error', (err) => this.opts.log.warn({ err: err.message }, 'TURN UDP socket error'));
      tcp.removeAllListeners('error');
      tcp.on('error', (err) => this.opts.log.warn({ err: err.message }, 'TURN TCP listener error'));
      udp.on('message', (b, rinfo) => {
        const client: Client = { transport: 'udp', remote: { ip: rinfo.address, port: rinfo.port }, send: (out) => udp.send(out, rinfo.port, rinfo.address) };
        this.onDatagram(b, client);
      });
      this.udp = udp;
      this.tcp = tcp;
      this.port = port;
      return;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const a of [...this.allocations.values()]) this.free(a);
    for (const s of this.tcpConns) s.destroy();
    this.udp?.close();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }

  private onTcp(s: net.Socket): void {
    if (this.closed || this.tcpConns.size >= this.limits.maxTcpConnections) {
      s.destroy();
      return;
    }
    this.tcpConns.add(s);
    s.setNoDelay(true);
    const remote = { ip: (s.remoteAddress ?? '').replace(/^::ffff:/, ''), port: s.remotePort ?? 0 };
    const client: Client = { transport: 'tcp', remote, send: (out) => { if (!s.destroyed) s.write(out); } };
    const key = this.keyOf(client);
    let buf = Buffer.alloc(0);
    const idle = () => { if (!this.allocations.has(key)) s.destroy(); };
    let idleTimer = setTimeout(idle, TCP_IDLE_MS);
    s.on('data', (chunk) => {
      buf = buf.length ? Buffer.concat([buf, chunk]) : chunk;
      while (buf.length >= 4) {
        const n = frameLength(buf, true);
        if (n === undefined || n > MAX_TCP_BUFFER) {
          s.destroy(); // not STUN nor ChannelData: the stream cannot be resynchronised
          return;
        }
        if (buf.length < n) break;
        const frame = buf.subarray(0, n);
        buf = buf.subarray(n);
        this.onDatagram(Buffer.from(frame), client);
      }
      clearTimeout(idleTimer);
      idleTimer = setTimeout(idle, TCP_IDLE_MS);
    });
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(idleTimer);
      this.tcpConns.delete(s);
      const a = this.allocations.get(key);
      if (a) this.free(a); // RFC 8656: a TCP allocation ends with its connection
    });
  }

  private keyOf(c: Client): string {
    return `${c.transport}/${c.remote.ip}:${c.remote.port}`;
  }

  /** One STUN message or ChannelData frame from a client. Never throws. */
  private onDatagram(b: Buffer, client: Client): void {
    try {
      if (isChannelData(b)) return this.onChannelData(b, client);
      const m = parseStun(b);
      if (!m || !fingerprintOk(m)) return;
      if (m.cls === Class.Request) this.onRequest(m, client);
      else if (m.cls === Class.Indication && m.method === Method.Send) this.onSend(m, client);
    } catch (err) {
      this.opts.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'TURN: dropped a message');
    }
  }

  private onChannelData(b: Buffer, client: Client): void {
    const a = this.allocations.get(this.keyOf(client));
    if (!a) return;
    const len = b.readUInt16BE(2);
    if (4 + len > b.length) return;
    const ch = a.channelByNumber.get(b.readUInt16BE(0));
    if (!ch || ch.expiresAt < Date.now()) return;
    this.relayTo(a, ch.peer, b.subarray(4, 4 + len));
  }

  private onSend(m: StunMessage, client: Client): void {
    const a = this.allocations.get(this.keyOf(client));
    const peer = decodeXorAddress(getAttr(m, Attr.XorPeerAddress));
    const data = getAttr(m, Attr.Data);
    if (!a || !peer || !data) return;
    this.relayTo(a, peer, data);
  }

  private relayTo(a: Allocation, peer: Address, data: Buffer): void {
    const exp = a.permissions.get(peer.ip);
    if (exp === undefined || exp < Date.now() || !this.peerAllowed(peer)) return;
    a.relay.send(data, peer.port, peer.ip);
  }

  private peerAllowed(peer: Address): boolean {
    return peer.port > 0 && !this.relayPorts.has(peer.port) && peer.port !== this.port && this.opts.allowPeer(peer);
  }

  private nonce(): string {
    const t = Math.floor(Date.now() / 1000).toString(16);
    return `${t}.${createHmac('sha1', this.nonceKey).update(t).digest('base64url').slice(0, 16)}`;
  }

  private nonceFresh(n: string): boolean {
    const [t, mac] = n.split('.');
    if (!t || !mac || !/^[0-9a-f]{1,12}$/.test(t)) return false;
    if (createHmac('sha1', this.nonceKey).update(t).digest('base64url').slice(0, 16) !== mac) return false;
    return Date.now() / 1000 - parseInt(t, 16) < NONCE_S;
  }

  private reply(client: Client, m: StunMessage, attrs: [number, Buffer][], key?: Buffer): void {
    client.send(encodeStun(m.method, Class.Success, m.tid, attrs, key));
  }

  private fail(client: Client, m: StunMessage, code: number, reason: string, key?: Buffer, extra: [number, Buffer][] = []): void {
    client.send(encodeStun(m.method, Class.Error, m.tid, [errorCodeAttr(code, reason), ...extra], key));
  }

  /** The long-term key of an authenticated request, or undefined after answering 401/438. */
  private authenticate(m: StunMessage, client: Client): { username: string; key: Buffer } | undefined {
    const realm = this.opts.realm;
    const challenge: [number, Buffer][] = [[Attr.Realm, Buffer.from(realm)], [Attr.Nonce, Buffer.from(this.nonce())]];
    const user = getAttr(m, Attr.Username)?.toString('utf8');
    const nonce = getAttr(m, Attr.Nonce)?.toString('utf8');
    if (!user || !nonce || !getAttr(m, Attr.MessageIntegrity) || getAttr(m, Attr.Realm)?.toString('utf8') !== realm) {
      this.fail(client, m, 401, 'Unauthorized', undefined, challenge);
      return undefined;
    }
    if (!this.nonceFresh(nonce)) {
      this.fail(client, m, 438, 'Stale Nonce', undefined, challenge);
      return undefined;
    }
    const check = checkRestUsername(this.opts.secret, user);
    const key = 'password' in check ? longTermKey(user, realm, check.password) : undefined;
    if (!key || !checkIntegrity(m, key)) {
      this.fail(client, m, 401, 'Unauthorized', undefined, challenge);
      return undefined;
    }
    return { username: user, key };
  }

  private onRequest(m: StunMessage, client: Client): void {
    if (m.method === Method.Binding) {
      this.reply(client, m, [[Attr.XorMappedAddress, encodeXorAddress(client.remote)]]);
      return;
    }
    if (![Method.Allocate, Method.Refresh, Method.CreatePermission, Method.ChannelBind].includes(m.method as 3)) {
      this.fail(client, m, 400, 'Bad Request');
      return;
    }
    const auth = this.authenticate(m, client);
    if (!auth) return;
    const a = this.allocations.get(this.keyOf(client));
    if (m.method === Method.Allocate) {
      void this.allocate(m, client, auth, a);
      return;
    }
    if (!a) {
      this.fail(client, m, 437, 'Allocation Mismatch', auth.key);
      return;
    }
    if (a.username !== auth.username) {
      this.fail(client, m, 441, 'Wrong Credentials', auth.key);
      return;
    }
    if (m.method === Method.Refresh) this.refresh(m, a);
    else if (m.method === Method.CreatePermission) this.createPermission(m, a);
    else this.channelBind(m, a);
  }

  private lifetime(m: StunMessage): number {
    const v = getAttr(m, Attr.Lifetime);
    const asked = v?.length === 4 ? v.readUInt32BE(0) : this.limits.defaultLifetimeS;
    return Math.min(asked, this.limits.maxLifetimeS);
  }

  private async allocate(m: StunMessage, client: Client, auth: { username: string; key: Buffer }, existing: Allocation | undefined): Promise<void> {
    const { key } = auth;
    if (existing) {
      this.fail(client, m, 437, 'Allocation Mismatch', key);
      return;
    }
    const transport = getAttr(m, Attr.RequestedTransport);
    if (!transport || transport.length !== 4) return this.fail(client, m, 400, 'Bad Request', key);
    if (transport[0] !== 17) return this.fail(client, m, 442, 'Unsupported Transport Protocol', key);
    const family = getAttr(m, Attr.RequestedAddressFamily);
    if (family && family[0] !== 1) return this.fail(client, m, 440, 'Address Family not Supported', key);
    if (getAttr(m, Attr.EvenPort) || getAttr(m, Attr.ReservationToken)) return this.fail(client, m, 508, 'Insufficient Capacity', key);
    let mine = 0;
    for (const x of this.allocations.values()) if (x.username === auth.username) mine++;
    if (mine >= this.limits.maxAllocationsPerUser || this.allocations.size >= this.limits.maxAllocations) {
      return this.fail(client, m, 486, 'Allocation Quota Reached', key);
    }
    const relay = dgram.createSocket('udp4');
    try {
      await new Promise<void>((resolve, reject) => {
        relay.once('error', reject);
        relay.bind(0, this.opts.relayBindIp, () => resolve());
      });
    } catch {
      relay.close();
      return this.fail(client, m, 508, 'Insufficient Capacity', key);
    }
    const k = this.keyOf(client);
    if (this.closed || this.allocations.has(k)) {
      relay.close();
      return this.fail(client, m, 437, 'Allocation Mismatch', key);
    }
    const lifetime = this.lifetime(m) || this.limits.defaultLifetimeS;
    const a: Allocation = {
      key: k,
      client,
      username: auth.username,
      hmacKey: key,
      relay,
      relayPort: relay.address().port,
      expiresAt: Date.now() + lifetime * 1000,
      timer: setTimeout(() => this.free(a), lifetime * 1000),
      permissions: new Map(),
      channelByNumber: new Map(),
      channelByPeer: new Map(),
    };
    relay.removeAllListeners('error');
    relay.on('error', () => undefined);
    relay.on('message', (data, rinfo) => this.fromPeer(a, data, { ip: rinfo.address, port: rinfo.port }));
    this.allocations.set(k, a);
    this.relayPorts.add(a.relayPort);
    this.reply(client, m, [
      [Attr.XorRelayedAddress, encodeXorAddress({ ip: this.opts.relayAnnounceIp, port: a.relayPort })],
      [Attr.Lifetime, u32(lifetime)],
      [Attr.XorMappedAddress, encodeXorAddress(client.remote)],
    ], key);
  }

  private fromPeer(a: Allocation, data: Buffer, peer: Address): void {
    const exp = a.permissions.get(peer.ip);
    if (exp === undefined || exp < Date.now()) return;
    const ch = a.channelByPeer.get(`${peer.ip}:${peer.port}`);
    const tcp = a.client.transport === 'tcp';
    if (ch !== undefined && (a.channelByNumber.get(ch)?.expiresAt ?? 0) >= Date.now()) {
      a.client.send(encodeChannelData(ch, data, tcp));
    } else {
      a.client.send(encodeStun(Method.Data, Class.Indication, randomBytes(12), [[Attr.XorPeerAddress, encodeXorAddress(peer)], [Attr.Data, data]]));
    }
  }

  private refresh(m: StunMessage, a: Allocation): void {
    const lifetime = this.lifetime(m);
    if (lifetime === 0) {
      this.reply(a.client, m, [[Attr.Lifetime, u32(0)]], a.hmacKey);
      this.free(a);
      return;
    }
    clearTimeout(a.timer);
    a.expiresAt = Date.now() + lifetime * 1000;
    a.timer = setTimeout(() => this.free(a), lifetime * 1000);
    this.reply(a.client, m, [[Attr.Lifetime, u32(lifetime)]], a.hmacKey);
  }

  private prunePermissions(a: Allocation): void {
    const now = Date.now();
    for (const [ip, exp] of a.permissions) if (exp < now) a.permissions.delete(ip);
  }

  private createPermission(m: StunMessage, a: Allocation): void {
    const peers: Address[] = [];
    for (const at of m.attrs) {
      if (at.type !== Attr.XorPeerAddress) continue;
      if (isIpv6Address(at.value)) return this.fail(a.client, m, 443, 'Peer Address Family Mismatch', a.hmacKey);
      const p = decodeXorAddress(at.value);
      if (!p) return this.fail(a.client, m, 400, 'Bad Request', a.hmacKey);
      peers.push(p);
    }
    if (peers.length === 0) return this.fail(a.client, m, 400, 'Bad Request', a.hmacKey);
    // Permissions are per IP (RFC 8656 9), so only the IP is checked here; ports are checked on every packet.
    if (!peers.every((p) => this.opts.allowPeer({ ip: p.ip, port: 0 }))) return this.fail(a.client, m, 403, 'Forbidden', a.hmacKey);
    this.prunePermissions(a);
    const added = peers.filter((p) => !a.permissions.has(p.ip)).length;
    if (a.permissions.size + added > this.limits.maxPermissions) return this.fail(a.client, m, 508, 'Insufficient Capacity', a.hmacKey);
    for (const p of peers) a.permissions.set(p.ip, Date.now() + PERMISSION_S * 1000);
    this.reply(a.client, m, [], a.hmacKey);
  }

  private channelBind(m: StunMessage, a: Allocation): void {
    const nv = getAttr(m, Attr.ChannelNumber);
    const pv = getAttr(m, Attr.XorPeerAddress);
    if (isIpv6Address(pv)) return this.fail(a.client, m, 443, 'Peer Address Family Mismatch', a.hmacKey);
    const peer = decodeXorAddress(pv);
    const ch = nv?.length === 4 ? nv.readUInt16BE(0) : 0;
    if (!peer || ch < 0x4000 || ch > 0x4fff) return this.fail(a.client, m, 400, 'Bad Request', a.hmacKey);
    if (!this.peerAllowed(peer)) return this.fail(a.client, m, 403, 'Forbidden', a.hmacKey);
    const pk = `${peer.ip}:${peer.port}`;
    const bound = a.channelByNumber.get(ch);
    const other = a.channelByPeer.get(pk);
    if ((bound && `${bound.peer.ip}:${bound.peer.port}` !== pk) || (other !== undefined && other !== ch)) {
      return this.fail(a.client, m, 400, 'Bad Request', a.hmacKey);
    }
    this.prunePermissions(a);
    if (!a.permissions.has(peer.ip) && a.permissions.size >= this.limits.maxPermissions) return this.fail(a.client, m, 508, 'Insufficient Capacity', a.hmacKey);
    a.channelByNumber.set(ch, { peer, expiresAt: Date.now() + CHANNEL_S * 1000 });
    a.channelByPeer.set(pk, ch);
    a.permissions.set(peer.ip, Date.now() + PERMISSION_S * 1000);
    this.reply(a.client, m, [], a.hmacKey);
  }

  private free(a: Allocation): void {
    if (this.allocations.get(a.key) !== a) return;
    this.allocations.delete(a.key);
    this.relayPorts.delete(a.relayPort);
    clearTimeout(a.timer);
    a.relay.close();
  }
}
