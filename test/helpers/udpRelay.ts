/**
 * A lossy, rate-limited UDP relay on loopback, for putting a viewer behind a bad link: the viewer talks to
 * `port`, the relay forwards to `target` from its own socket, and applies the current policy to SRTP/SRTCP
 * going towards the viewer (first byte 128..191); STUN and DTLS always pass, and nothing is shaped towards
 * the server (its NACKs and reports must get through). The policy can be changed at any time:
 *
 *   rateBps: a token-bucket policer (100 ms of burst): packets above the rate are dropped, not queued;
 *   queueMs: with rateBps, a bottleneck link instead: packets wait in a FIFO drained at rateBps (their delay
 *            grows while more is sent than the link carries) and are dropped once this much is queued;
 *   loss:    an independent drop probability.
 */
import dgram from 'node:dgram';
import type { AddressInfo } from 'node:net';

export interface RelayPolicy {
  rateBps?: number;
  queueMs?: number;
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
    const media = b >= 128 && b <= 191;
    if (media && policy.queueMs !== undefined && policy.rateBps !== undefined) {
      enqueue(msg, policy.rateBps, policy.queueMs);
      return;
    }
    if (media && drop(msg.length)) {
      counters.dropped++;
      return;
    }
    counters.forwarded++;
    front.send(msg, viewer.port, viewer.address);
  });

  // The bottleneck link: each packet leaves once the ones before it have been serialised at the rate.
  const queue: { msg: Buffer; at: number }[] = [];
  let linkFreeAt = 0;
  let pumpTimer: NodeJS.Timeout | undefined;
  function enqueue(msg: Buffer, rateBps: number, queueMs: number): void {
    const now = performance.now();
    const start = Math.max(now, linkFreeAt);
    if (start - now > queueMs || (policy.loss !== undefined && Math.random() < policy.loss)) {
      counters.dropped++;
      return;
    }
    linkFreeAt = start + (msg.length * 8 * 1000) / rateBps;
    queue.push({ msg, at: linkFreeAt });
    pump();
  }
  function pump(): void {
    if (pumpTimer) return;
    const now = performance.now();
    while (queue.length > 0 && queue[0]!.at <= now) {
      const { msg } = queue.shift()!;
      if (viewer && !closed) {
        counters.forwarded++;
        front.send(msg, viewer.port, viewer.address);
      }
    }
    if (queue.length > 0) {
      pumpTimer = setTimeout(() => {
        pumpTimer = undefined;
        pump();
      }, queue[0]!.at - now);
    }
  }

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
      pump(); // leaving queue mode: what is queued still goes out in order
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(pumpTimer);
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
