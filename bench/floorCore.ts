/**
 * The "hardware floor" for the fan-out benchmark: what it costs this machine, in CPU time, to do the least
 * an SFU must do per forwarded RTP packet — write a per-viewer RTP header, SRTP-protect the packet and hand
 * it to the kernel as one UDP datagram on loopback. bench/fanout.ts compares the server's CPU per forwarded
 * packet with this figure measured in the same run.
 *
 * Protection profile: SRTP_AEAD_AES_128_GCM (RFC 7714, 0x0007). werift offers and accepts
 * [SRTP_AEAD_AES_128_GCM, SRTP_AES128_CM_HMAC_SHA1_80] in that order (webrtc/src/secureTransportManager.js,
 * "prefer"), and both DTLS roles pick the first profile of their *own* list the peer also offers
 * (dtls/src/context/srtp.js findMatchingSRTPProfile, used by server flight2 and client flight5), so two werift
 * peers always settle on GCM. Master key 16 bytes, salt 12 bytes, 16-byte tag.
 *
 * Encryption is done here with node:crypto directly (not werift's SRTP code), one `createCipheriv` per
 * packet as werift does, because node has no way to re-key a GCM context with a new IV.
 *
 * The receiver runs in a separate, niced process, so its CPU is not counted; it only counts datagrams and
 * acknowledges its running count every `ackEvery` packets, which lets the sender keep at most `window`
 * packets in flight per destination — well under what the receiver's socket buffer holds — so the kernel
 * does not drop silently. Loss, if any, is still counted and reported.
 *
 * Each phase runs in batches (`batch` source packets × destinations) with a setImmediate between batches;
 * the floor phase encrypts a batch and then sends it in one burst. Two loopback artefacts to keep in mind
 * when comparing with a server: the sender's sendmsg() also pays for the receive path up to the receiver's
 * socket queue, and for waking the receiver if it sleeps (see encryptSendInterleaved).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { setPriority } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';

export const SRTP_PROFILE = 'SRTP_AEAD_AES_128_GCM';
const KEY_BYTES = 16;
const SALT_BYTES = 12;
const TAG_BYTES = 16;
const RTP_HEADER_BYTES = 12;
const RTP_PT_VIDEO = 96;
/** Packets per video frame (marker bit on the last) and the 90 kHz timestamp step per frame (30 fps). */
const PACKETS_PER_FRAME = 8;
const TS_STEP = 3000;

export interface FloorOptions {
  /** Forwarded packets to measure, across all destinations (each phase sends this many). */
  packets: number;
  /** RTP payload bytes (~1100 for video). The datagram is 12 + payloadBytes + 16 bytes. */
  payloadBytes: number;
  /** Viewers: each has its own SSRC, sequence number, SRTP key and UDP socket. Default 4. */
  destinations?: number;
  /** Measurement rounds; each phase runs `packets / rounds` per round and the median is reported. Default 5. */
  rounds?: number;
  /** Stop measuring after this long (the figures then cover fewer packets). Default 25 000 ms. */
  budgetMs?: number;
}

export interface PhaseFigures {
  /** Median over rounds of CPU µs (user + system, whole process, all threads) per packet. */
  cpuUsPerPacket: number;
  /** Lowest and highest round. */
  cpuUsRange: [number, number];
  /** The median round's split of cpuUsPerPacket. */
  userUsPerPacket: number;
  systemUsPerPacket: number;
  wallUsPerPacket: number;
  /**
   * Voluntary context switches per packet (median). Well above ~0.01 means V8's GC helper threads and the
   * main thread are waking each other per allocation burst, which roughly doubles the cost on a small VM.
   */
  voluntaryCtxSwitchesPerPacket: number;
  /**
   * Times the receiving process was woken per packet. On loopback the sender's sendmsg() pays for waking
   * it (and for the receive path up to the socket queue), so a receiver that sleeps between packets makes
   * sending look dearer; batching keeps it busy.
   */
  receiverWakeupsPerPacket: number;
  packets: number;
  /** Datagrams the receiver counted (0 for the encrypt-only phase, which sends nothing). */
  received: number;
  /** Bytes the receiver counted per datagram (12 + payloadBytes + 16 if every datagram arrived whole). */
  bytesPerDatagram: number;
}

export interface FloorResult {
  profile: string;
  /** Packets encrypted and sent in the main (encrypt + connected send) phase. */
  packets: number;
  payloadBytes: number;
  /** Encrypt + send on connected UDP sockets, a batch at a time: the floor. */
  cpuUsPerPacket: number;
  /** Header + IV + AES-128-GCM only, nothing sent. */
  encryptUsPerPacket: number;
  /** Send of a pre-encrypted packet on a connected socket, nothing encrypted. */
  sendUsPerPacket: number;
  wallUsPerPacket: number;
  /** What the receiver got in the main phase; `lost` = packets − received. */
  received: number;
  lost: number;
  destinations: number;
  datagramBytes: number;
  /** Send of a pre-encrypted packet on an unconnected socket (address given on every send). */
  sendUnconnectedUsPerPacket: number;
  /** Encrypt + unconnected send. */
  cpuUnconnectedUsPerPacket: number;
  /** Encrypt + connected send, each packet sent as soon as encrypted (werift's pattern), not in bursts. */
  cpuInterleavedUsPerPacket: number;
  /** The receiving process's CPU per packet in the main phase (not part of the floor). */
  receiverCpuUsPerPacket: number;
  phases: Record<PhaseName, PhaseFigures>;
  pacing: {
    window: number;
    ackEvery: number;
    batch: number;
    receiverBufferBytes: number;
    ackTimeouts: number;
    sendErrors: number;
  };
  rounds: number;
  truncated: boolean;
  node: string;
  openssl: string;
}

/**
 * encryptSend: the floor — encrypt a batch, then send it on connected sockets in one burst.
 * encrypt / send: each half alone (send = a pre-encrypted packet).
 * sendUnconnected / encryptSendUnconnected: the same with the address given on every send.
 * encryptSendInterleaved: send each packet as soon as it is encrypted, as werift does.
 */
export type PhaseName =
  | 'encryptSend'
  | 'encrypt'
  | 'send'
  | 'sendUnconnected'
  | 'encryptSendUnconnected'
  | 'encryptSendInterleaved';
const PHASES: PhaseName[] = [
  'encryptSend',
  'encrypt',
  'send',
  'sendUnconnected',
  'encryptSendUnconnected',
  'encryptSendInterleaved',
];
/** Share of `packets` each phase sends: the three that make up the floor get all of them, the variants half. */
const PHASE_SHARE: Record<PhaseName, number> = {
  encryptSend: 1,
  encrypt: 1,
  send: 1,
  sendUnconnected: 0.5,
  encryptSendUnconnected: 0.5,
  encryptSendInterleaved: 0.5,
};

/** One outgoing SRTP stream: what an SFU keeps per viewer and track. */
export interface SrtpStream {
  /** SRTP session key (16 bytes) and salt (12 bytes), as derived from the DTLS master secret. */
  key: Buffer;
  salt: Buffer;
  ssrc: number;
  seq: number;
  /** Rollover counter: the high 32 bits of the 48-bit packet index. */
  roc: number;
  ts: number;
}

interface Destination extends SrtpStream {
  port: number;
  connected: dgram.Socket;
  unconnected: dgram.Socket;
  /** Datagrams sent to this receiver socket (from either sender socket), and the receiver's last count. */
  sent: number;
  acked: number;
  /** Packets written off after an ack timeout (lost datagrams or acks), so the window cannot jam. */
  forgiven: number;
  /** A pre-encrypted packet for the send-only phases. */
  pre: Buffer[];
}

/** The receiver, as plain CommonJS run by `node -e`; driven over the IPC channel. */
const RECEIVER_SOURCE = `
const dgram = require('node:dgram');
const counts = [], bytes = [];
let ackEvery = 1 << 30;
process.on('message', (m) => {
  if (m.cmd === 'ackEvery') {
    ackEvery = m.ackEvery;
    process.send({ ok: true });
  } else if (m.cmd === 'start') {
    const ports = [];
    let pending = m.destinations, bufferBytes = 0;
    for (let i = 0; i < m.destinations; i++) {
      const s = dgram.createSocket({ type: 'udp4', recvBufferSize: m.recvBufferSize });
      counts.push(0); bytes.push(0);
      s.on('message', (msg, rinfo) => {
        const c = ++counts[i];
        bytes[i] += msg.length;
        if (c % ackEvery === 0) {
          const a = Buffer.allocUnsafe(4);
          a.writeUInt32BE(c >>> 0, 0);
          s.send(a, rinfo.port, rinfo.address);
        }
      });
      s.bind(0, '127.0.0.1', () => {
        ports[i] = s.address().port;
        bufferBytes = s.getRecvBufferSize();
        if (--pending === 0) process.send({ ports, bufferBytes });
      });
    }
  } else if (m.cmd === 'count') {
    const wakeups = process.resourceUsage().voluntaryContextSwitches;
    process.send({ counts, bytes, cpu: process.cpuUsage(), wakeups });
  }
});
process.on('disconnect', () => process.exit(0));
setTimeout(() => process.exit(0), 120000).unref();
`;

interface ReceiverReport {
  counts: number[];
  bytes: number[];
  cpu: NodeJS.CpuUsage;
  wakeups: number;
}

class Receiver {
  private constructor(private readonly child: ChildProcess) {}

  /** Starts the receiving process with one socket per destination; `bufferBytes` is what the kernel granted. */
  static async start(destinations: number, recvBufferSize: number) {
    const child = spawn(process.execPath, ['-e', RECEIVER_SOURCE], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const r = new Receiver(child);
    try {
      // On a two-core machine the receiver would otherwise compete with the sender's own threads (V8's GC
      // helpers) for the second core. Niced, it only takes what is idle; the window makes the sender wait
      // (idle, not counted) if it falls behind.
      if (child.pid !== undefined) setPriority(child.pid, 19);
      const ready = await r.request<{ ports: number[]; bufferBytes: number }>({
        cmd: 'start',
        destinations,
        recvBufferSize,
      });
      return { receiver: r, ...ready };
    } catch (err) {
      r.stop();
      throw err;
    }
  }

  async setAckEvery(ackEvery: number): Promise<void> {
    await this.request({ cmd: 'ackEvery', ackEvery });
  }

  request<T>(msg: object, timeoutMs = 5000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.child.off('message', onMessage);
        reject(new Error('floor receiver did not answer'));
      }, timeoutMs);
      const onMessage = (m: unknown) => {
        clearTimeout(timer);
        this.child.off('message', onMessage);
        resolve(m as T);
      };
      this.child.on('message', onMessage);
      this.child.send(msg);
    });
  }

  count(): Promise<ReceiverReport> {
    return this.request<ReceiverReport>({ cmd: 'count' });
  }

  stop(): void {
    if (this.child.connected) this.child.disconnect();
    if (this.child.exitCode === null) this.child.kill();
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round3 = (x: number) => Math.round(x * 1000) / 1000;
const cpuUs = (u: NodeJS.CpuUsage) => u.user + u.system;

function bindSocket(connectTo?: number): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, '127.0.0.1', () => {
      if (connectTo === undefined) return resolve(s);
      s.connect(connectTo, '127.0.0.1', () => resolve(s));
    });
  });
}

/**
 * SRTP-protects one RTP packet for `d` (RFC 3711 + RFC 7714 AEAD_AES_128_GCM) and advances its sequence
 * number: 12-byte header, IV = (0x0000 ‖ SSRC ‖ ROC ‖ SEQ) XOR salt, AAD = header, ciphertext ‖ 16-byte tag.
 * Returns the datagram as [header, ciphertext, tag], which dgram sends as one datagram (sendmsg iovec).
 */
export function protectRtp(d: SrtpStream, payload: Buffer, marker: boolean, iv: Buffer): Buffer[] {
  const hdr = Buffer.allocUnsafe(RTP_HEADER_BYTES);
  hdr[0] = 0x80; // V=2, no padding, no extension, no CSRC
  hdr[1] = (marker ? 0x80 : 0) | RTP_PT_VIDEO;
  hdr.writeUInt16BE(d.seq, 2);
  hdr.writeUInt32BE(d.ts, 4);
  hdr.writeUInt32BE(d.ssrc, 8);

  iv.writeUInt16BE(0, 0);
  iv.writeUInt32BE(d.ssrc, 2);
  iv.writeUInt32BE(d.roc, 6);
  iv.writeUInt16BE(d.seq, 10);
  const salt = d.salt;
  for (let i = 0; i < SALT_BYTES; i++) iv[i]! ^= salt[i]!;

  const cipher = createCipheriv('aes-128-gcm', d.key, iv);
  cipher.setAAD(hdr);
  const enc = cipher.update(payload);
  cipher.final();
  const tag = cipher.getAuthTag();

  if (d.seq === 0xffff) {
    d.seq = 0;
    d.roc = (d.roc + 1) >>> 0;
  } else d.seq++;
  return [hdr, enc, tag];
}

export async function measureFloor(opts: FloorOptions): Promise<FloorResult> {
  const packets = Math.max(1, Math.floor(opts.packets));
  const payloadBytes = Math.max(0, Math.floor(opts.payloadBytes));
  const nDest = Math.max(1, Math.floor(opts.destinations ?? 4));
  const rounds = Math.max(1, Math.floor(opts.rounds ?? 5));
  const deadline = Date.now() + (opts.budgetMs ?? 25_000);
  const datagramBytes = RTP_HEADER_BYTES + payloadBytes + TAG_BYTES;

  // The receive buffer holds sk_buff truesize, not payload: ~2.3 KiB for a 1.2 KB datagram on loopback.
  // Keep well under half of it in flight per socket. (Linux doubles the requested size, capped by rmem_max.)
  const truesize = 2 * datagramBytes + 1024;
  const { receiver: rx, ports, bufferBytes } = await Receiver.start(nDest, 4 << 20);
  const window = Math.max(16, Math.min(1024, Math.floor(bufferBytes / truesize / 2)));
  const ackEvery = Math.max(4, window >> 3);
  const batch = Math.max(1, Math.min(32, Math.floor(window / 4)));
  const dests: Destination[] = [];
  let ackWaiter: (() => void) | null = null;
  let ackTimeouts = 0;
  let sendErrors = 0;
  try {
    await rx.setAckEvery(ackEvery);
    const payload = randomBytes(payloadBytes);
    const iv = Buffer.alloc(SALT_BYTES);
    for (let i = 0; i < nDest; i++) {
      const port = ports[i]!;
      const d: Destination = {
        key: randomBytes(KEY_BYTES),
        salt: randomBytes(SALT_BYTES),
        ssrc: randomBytes(4).readUInt32BE(0),
        seq: randomBytes(2).readUInt16BE(0),
        roc: 0,
        ts: randomBytes(4).readUInt32BE(0),
        port,
        connected: await bindSocket(port),
        unconnected: await bindSocket(),
        sent: 0,
        acked: 0,
        forgiven: 0,
        pre: [],
      };
      d.pre = protectRtp({ ...d }, payload, false, iv);
      const onAck = (msg: Buffer) => {
        if (msg.length !== 4) return;
        const c = msg.readUInt32BE(0);
        if (c > d.acked) d.acked = c;
        const w = ackWaiter;
        ackWaiter = null;
        w?.();
      };
      for (const sock of [d.connected, d.unconnected]) {
        sock.on('message', onAck);
        sock.on('error', () => sendErrors++);
      }
      dests.push(d);
    }

    const waitForAck = (ms: number) =>
      new Promise<boolean>((resolve) => {
        const t = setTimeout(() => {
          ackWaiter = null;
          resolve(false);
        }, ms);
        ackWaiter = () => {
          clearTimeout(t);
          resolve(true);
        };
      });

    /** Waits until every destination can take `n` more packets without exceeding the window. */
    const makeRoom = async (n: number) => {
      for (;;) {
        let full: Destination | undefined;
        for (const d of dests) if (d.sent - d.acked - d.forgiven + n > window) full = d;
        if (!full) return;
        if (!(await waitForAck(50))) {
          // Lost datagram or lost ack: write off what is outstanding so the window cannot jam. Counted.
          ackTimeouts++;
          for (const d of dests) d.forgiven = Math.max(0, d.sent - d.acked - ackEvery);
        }
      }
    };

    let sink = 0;
    const burst: Buffer[][] = [];
    const burstTo: Destination[] = [];
    const runPhase = async (phase: PhaseName, count: number) => {
      const sends = phase !== 'encrypt';
      const encrypts = phase !== 'send' && phase !== 'sendUnconnected';
      const unconnected = phase === 'sendUnconnected' || phase === 'encryptSendUnconnected';
      const interleaved = phase === 'encryptSendInterleaved';
      const sourcePackets = Math.max(1, Math.round(count / nDest));
      const before = sends ? await rx.count() : undefined;
      const ru0 = process.resourceUsage();
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      let done = 0;
      let frame = 0;
      let m = 0;
      while (done < sourcePackets) {
        const n = Math.min(batch, sourcePackets - done);
        if (sends) await makeRoom(n);
        for (let j = 0; j < n; j++) {
          const marker = ++frame === PACKETS_PER_FRAME;
          for (let k = 0; k < nDest; k++) {
            const d = dests[k]!;
            const pkt = encrypts ? protectRtp(d, payload, marker, iv) : d.pre;
            if (!sends) sink ^= pkt[2]![0]!;
            else if (interleaved) d.connected.send(pkt);
            else {
              burstTo[m] = d;
              burst[m++] = pkt;
            }
            if (marker) d.ts = (d.ts + TS_STEP) >>> 0;
          }
          if (marker) frame = 0;
          if (sends) for (const d of dests) d.sent++;
        }
        // One burst per batch keeps the receiver busy instead of waking it for every packet: on loopback
        // the waking is charged to the sender and would not exist with a real NIC.
        for (let i = 0; i < m; i++) {
          const d = burstTo[i]!;
          if (unconnected) d.unconnected.send(burst[i]!, d.port, '127.0.0.1');
          else d.connected.send(burst[i]!);
        }
        m = 0;
        done += n;
        await yieldToLoop();
        if (Date.now() > deadline) break;
      }
      const cpuDelta = process.cpuUsage(cpu0);
      const wall = Number(process.hrtime.bigint() - t0) / 1000;
      const ctx = process.resourceUsage().voluntaryContextSwitches - ru0.voluntaryContextSwitches;
      const cpu = cpuUs(cpuDelta);
      const sent = done * nDest;
      let received = 0;
      let receiverCpu = 0;
      let receiverWakeups = 0;
      let receivedBytes = 0;
      if (sends && before) {
        // Let the receiver drain, then ask what it got.
        const expected = before.counts.reduce((a, b) => a + b, 0) + sent;
        let after = await rx.count();
        for (let tries = 0; tries < 100 && after.counts.reduce((a, b) => a + b, 0) < expected; tries++) {
          await new Promise((r) => setTimeout(r, 10));
          after = await rx.count();
        }
        received = after.counts.reduce((a, b) => a + b, 0) - before.counts.reduce((a, b) => a + b, 0);
        receiverCpu = cpuUs(after.cpu) - cpuUs(before.cpu);
        receiverWakeups = after.wakeups - before.wakeups;
        receivedBytes = after.bytes.reduce((a, b) => a + b, 0) - before.bytes.reduce((a, b) => a + b, 0);
        // Resynchronise the window with what actually arrived.
        for (let i = 0; i < nDest; i++) {
          const d = dests[i]!;
          d.acked = after.counts[i]!;
          d.forgiven = d.sent - d.acked;
        }
      }
      return {
        cpuUs: cpu / sent,
        userUs: cpuDelta.user / sent,
        systemUs: cpuDelta.system / sent,
        wallUs: wall / sent,
        ctx: ctx / sent,
        sent,
        received,
        receiverCpuUs: receiverCpu / sent,
        receiverWakeups: receiverWakeups / sent,
        receivedBytes,
      };
    };

    // Warm-up: JIT, socket and cipher paths, GC heuristics.
    const warm = Math.min(10_000, Math.max(nDest, Math.floor(packets / 20)));
    for (const p of PHASES) await runPhase(p, warm);

    const perRound = Math.max(nDest, Math.floor(packets / rounds));
    const samples = Object.fromEntries(PHASES.map((p) => [p, [] as Awaited<ReturnType<typeof runPhase>>[]])) as Record<
      PhaseName,
      Awaited<ReturnType<typeof runPhase>>[]
    >;
    let truncated = false;
    for (let r = 0; r < rounds && !truncated; r++) {
      // Rotate the phase order each round so slow drifts on a shared machine do not favour one phase.
      for (let i = 0; i < PHASES.length; i++) {
        const p = PHASES[(i + r) % PHASES.length]!;
        const s = await runPhase(p, Math.floor(perRound * PHASE_SHARE[p]));
        samples[p].push(s);
        if (Date.now() > deadline) {
          truncated = true;
          break;
        }
      }
    }
    if (sink === -1) console.error(sink); // keeps the encrypt-only results observable

    const figures = (p: PhaseName): PhaseFigures => {
      const none = { cpuUs: NaN, userUs: NaN, systemUs: NaN, wallUs: NaN, ctx: NaN, sent: 0, received: 0 };
      const ss = samples[p].length ? samples[p] : [{ ...none, receiverCpuUs: NaN, receiverWakeups: 0, receivedBytes: 0 }];
      const cpus = ss.map((s) => s.cpuUs);
      const mid = [...ss].sort((a, b) => a.cpuUs - b.cpuUs)[(ss.length - 1) >> 1]!;
      return {
        cpuUsPerPacket: round3(median(cpus)),
        cpuUsRange: [round3(Math.min(...cpus)), round3(Math.max(...cpus))],
        userUsPerPacket: round3(mid.userUs),
        systemUsPerPacket: round3(mid.systemUs),
        wallUsPerPacket: round3(median(ss.map((s) => s.wallUs))),
        voluntaryCtxSwitchesPerPacket: round3(median(ss.map((s) => s.ctx))),
        receiverWakeupsPerPacket: round3(median(ss.map((s) => s.receiverWakeups))),
        packets: ss.reduce((a, s) => a + s.sent, 0),
        received: ss.reduce((a, s) => a + s.received, 0),
        bytesPerDatagram: round3(
          ss.reduce((a, s) => a + s.receivedBytes, 0) / Math.max(1, ss.reduce((a, s) => a + s.received, 0)),
        ),
      };
    };
    const phases = Object.fromEntries(PHASES.map((p) => [p, figures(p)])) as Record<PhaseName, PhaseFigures>;
    const main = phases.encryptSend;
    return {
      profile: SRTP_PROFILE,
      packets: main.packets,
      payloadBytes,
      cpuUsPerPacket: main.cpuUsPerPacket,
      encryptUsPerPacket: phases.encrypt.cpuUsPerPacket,
      sendUsPerPacket: phases.send.cpuUsPerPacket,
      wallUsPerPacket: main.wallUsPerPacket,
      received: main.received,
      lost: main.packets - main.received,
      destinations: nDest,
      datagramBytes,
      sendUnconnectedUsPerPacket: phases.sendUnconnected.cpuUsPerPacket,
      cpuUnconnectedUsPerPacket: phases.encryptSendUnconnected.cpuUsPerPacket,
      cpuInterleavedUsPerPacket: phases.encryptSendInterleaved.cpuUsPerPacket,
      receiverCpuUsPerPacket: round3(median(samples.encryptSend.map((s) => s.receiverCpuUs))),
      phases,
      pacing: { window, ackEvery, batch, receiverBufferBytes: bufferBytes, ackTimeouts, sendErrors },
      rounds: samples.encryptSend.length,
      truncated,
      node: process.versions.node,
      openssl: process.versions.openssl,
    };
  } finally {
    rx.stop();
    await Promise.all(
      dests.flatMap((d) => [d.connected, d.unconnected]).map((s) => new Promise<void>((r) => s.close(() => r()))),
    );
  }
}
