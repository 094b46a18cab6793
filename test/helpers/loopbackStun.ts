import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';
import type { PeerConfig } from 'werift';

/**
 * A minimal STUN binding responder on 127.0.0.1 (RFC 5389 §7, XOR-MAPPED-ADDRESS only).
 *
 * werift asks stun.l.google.com for a server-reflexive candidate whenever a non-lite agent has no STUN
 * server configured. Test and bench peers point their STUN server here instead, so gathering completes at
 * once and no packet leaves loopback.
 */
export interface LoopbackStun {
  readonly port: number;
  close(): Promise<void>;
}

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;

export async function startLoopbackStun(): Promise<LoopbackStun> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 20 || msg.readUInt16BE(0) !== BINDING_REQUEST || msg.readUInt32BE(4) !== MAGIC_COOKIE) return;
    if (rinfo.family !== 'IPv4') return;
    const reply = Buffer.alloc(32);
    reply.writeUInt16BE(BINDING_SUCCESS, 0);
    reply.writeUInt16BE(12, 2); // attribute bytes
    msg.copy(reply, 4, 4, 20); // magic cookie + transaction id
    reply.writeUInt16BE(XOR_MAPPED_ADDRESS, 20);
    reply.writeUInt16BE(8, 22);
    reply.writeUInt16BE(0x01, 24); // family IPv4
    reply.writeUInt16BE(rinfo.port ^ (MAGIC_COOKIE >>> 16), 26);
    const ip = rinfo.address.split('.').reduce((acc, part) => (acc << 8) | Number(part), 0) >>> 0;
    reply.writeUInt32BE((ip ^ MAGIC_COOKIE) >>> 0, 28);
    socket.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address() as AddressInfo;
  return {
    port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

/**
 * ICE settings for a werift peer in a test or bench: host candidates on 127.0.0.1 only, and the loopback
 * STUN responder as its STUN server, so that nothing is looked up or sent beyond loopback.
 */
export function loopbackPeerConfig(stunPort: number): Partial<PeerConfig> {
  return {
    iceServers: [{ urls: `stun:127.0.0.1:${stunPort}` }],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  };
}
