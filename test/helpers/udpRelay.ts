/**
 * A lossy, rate-limited UDP relay on loopback, for putting a viewer behind a bad link: the viewer talks to
 * `port`, the relay forwards to `target` from its own socket, and applies the current policy to SRTP/SRTCP
 * going towards the viewer (first byte 128..191); STUN and DTLS always pass, and nothing is shaped towards
 * the server (its NACKs and reports must get through). The policy can be changed at any time:
 *
 *   rateBps: a token-bucket policer (100 ms of burst): packets above the rate are dropped, not queued;
 *   loss:    an independent drop probability.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface RelayPolicy {
  rateBps?: number;
  loss?: number;
}

export interface UdpRelay {
  readonly port: number;
  readonly counters: { forwarded: number; dropped: number };
  set(policy: RelayPolicy): void;
  close(): Promise<void>;
}

async function bind(): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      s.off('error', reject);
      resolve();
    });
  });
  return s;
}

export async function startUdpRelay(targetPort: number, targetHost = '127.0.0.1'): Promise<UdpRelay> {
  const front = await bind();
  const back = await bind();
  let viewer: { port: number; address: string } | undefined;
  let policy: RelayPolicy = {};
  let tokens = 0;
  let lastFill = performance.now();
  const counters = { forwarded: 0, dropped: 0 };

  front.on('message', (msg, rinfo) => {
    viewer = { port: rinfo.port, address: rinfo.address };
    back.send(msg, targetPort, targetHost);
  });
  back.on('message', (msg) => {
    if (!viewer) return;
    const b = msg[0] ?? 0;
    if (b >= 128 && b <= 191 && drop(msg.length)) {
      counters.dropped++;
      return;
    }
    counters.forwarded++;
    front.send(msg, viewer.port, viewer.address);
  });

  function drop(bytes: number): boolean {
    if (policy.loss !== undefined && Math.random() < policy.loss) return true;
    const rate = policy.rateBps;
    if (rate === undefined) return false;
    const now = performance.now();
    const burst = Math.max(3000, rate / 8 / 10);
    tokens = Math.min(burst, tokens + ((now - lastFill) / 1000) * (rate / 8));
    lastFill = now;
    if (tokens < bytes) return true;
    tokens -= bytes;
    return false;
  }

  let closed = false;
  return {
    port: (front.address() as AddressInfo).port,
    counters,
    set(p) {
      policy = { ...p };
      tokens = 0;
      lastFill = performance.now();
    },
    async close() {
      if (closed) return;
      closed = true;
      await Promise.all([front, back].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}

/** The server's host candidate port in an offer, and the offer with it pointing at `relayPort` instead. */
export function serverPort(offerSdp: string): number {
  const m = / 127\.0\.0\.1 (\d+) typ host/.exec(offerSdp);
  if (!m) throw new Error('no loopback host candidate in the offer');
  return Number(m[1]);
}

export function redirectOffer(offerSdp: string, fromPort: number, relayPort: number): string {
  return offerSdp.replaceAll(` 127.0.0.1 ${fromPort} typ host`, ` 127.0.0.1 ${relayPort} typ host`);
}
