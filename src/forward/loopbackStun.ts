import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

/**
 * A minimal STUN binding responder on 127.0.0.1 (RFC 5389 §7, XOR-MAPPED-ADDRESS only).
 *
 * werift asks stun.l.google.com for a server-reflexive candidate whenever a non-lite agent has no STUN
 * server configured. Lectern's own client peers (the live HLS worker's WHEP subscriber) and every test and
 * bench peer point their STUN server here instead, so gathering completes at once and no packet leaves
 * loopback. Against an ICE-lite server a client needs no reflexive candidate: the server learns its address
 * from the connectivity checks.
 */
export interface LoopbackStun {
  readonly port: number;
  close(): Promise<void>;
}

const MAGIC_COOKIE = 0x2112a442;
const BINDING_REQUEST = 0x0001;
const BINDING_SUCCESS = 0x0101;
const XOR_MAPPED_ADDRESS = 0x0020;

export async function startLoopbackStun(opts: { unref?: boolean } = {}): Promise<LoopbackStun> {
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
  if (opts.unref) socket.unref();
  const { port } = socket.address() as AddressInfo;
  return {
    port,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

let shared: Promise<LoopbackStun> | undefined;

/** One responder for the whole process, started on first use; its socket does not keep the process alive. */
export function sharedLoopbackStun(): Promise<LoopbackStun> {
  return (shared ??= startLoopbackStun({ unref: true }));
}
