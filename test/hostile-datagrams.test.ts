/**
 * A lecture under fire at its media ports. The server runs as users run it (its own process, default group
 * settings, so live HLS runs too); a publisher and two viewers are plain werift peers. A raw UDP socket on
 * loopback sends the datagram that froze werift 0.24.4, then sprays malformed and unauthenticated STUN, DTLS,
 * RTP and RTCP at every UDP port the server process has open (its publisher, viewer and WHEP ports, and the
 * live-HLS subscriber's). The lecture must not notice: viewers keep receiving, `.status` answers throughout,
 * the datagrams are dropped by the packet guards (`lectern_dropped_datagrams_total`), and no media port
 * answers the sprayer (werift alone answers any STUN binding request). The one port that may answer is the
 * server's loopback-only STUN responder for its own WHEP subscriber (src/forward/loopbackStun.ts), which
 * answers any binding request, as a STUN server does.
 */
import dgram from 'node:dgram';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANGING_RTP, inputs, makers } from './fuzz/inputs.js';
import { startProcessLecture, type ProcessLecture } from './helpers/processLecture.js';
import { sleep, waitUntil } from './helpers/wait.js';

/** The UDP sockets of process `pid`, IPv4 or IPv6 (its socket inodes, found in /proc/net/udp*): port and kernel drops. */
function udpSocketsOf(pid: number): { port: number; drops: number }[] {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    let target = '';
    try {
      target = fs.readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m) inodes.add(m[1]!);
  }
  const out: { port: number; drops: number }[] = [];
  for (const table of ['/proc/net/udp', '/proc/net/udp6']) {
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length >= 13 && inodes.has(f[9]!)) out.push({ port: parseInt(f[1]!.split(':')[1]!, 16), drops: Number(f[12]) });
    }
  }
  return out;
}

function udpPortsOf(pid: number): number[] {
  return [...new Set(udpSocketsOf(pid).map((s) => s.port))];
}

/** Datagrams the kernel dropped at the sockets of `pid` bound to `ports` (their receive buffers were full). */
function kernelDrops(pid: number, ports: readonly number[]): number {
  return udpSocketsOf(pid)
    .filter((s) => ports.includes(s.port))
    .reduce((a, s) => a + s.drops, 0);
}

function candidatePorts(sdp: string | undefined): number[] {
  return [...(sdp ?? '').matchAll(/a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ/gi)].map((m) => Number(m[1]));
}

describe.each([
  ['viewers on the main thread', []],
  ['viewers on a forwarding thread', ['--forward-threads', '1']],
])('hostile datagrams at the media ports during a lecture, %s', (_label, args) => {
  let lecture: ProcessLecture;
  let sprayer: dgram.Socket;
  /** The source port of each datagram the sprayer received. */
  const answers: number[] = [];

  beforeAll(async () => {
    lecture = await startProcessLecture(args);
    sprayer = dgram.createSocket('udp4');
    sprayer.on('message', (_m, rinfo) => answers.push(rinfo.port));
    await new Promise<void>((r) => sprayer.bind(0, '127.0.0.1', r));
  }, 90_000);

  afterAll(async () => {
    sprayer?.close();
    await lecture?.close();
  });

  const send = (b: Buffer, port: number) => new Promise<void>((r) => sprayer.send(b, port, '127.0.0.1', () => r()));

  /** lectern_dropped_datagrams_total, by guard. */
  const dropped = async (): Promise<Record<string, number>> => {
    const res = await fetch(`${lecture.server.url}/metrics`, {
      headers: { Authorization: `Bearer ${lecture.metricsToken}` },
      signal: AbortSignal.timeout(10_000),
    });
    const out: Record<string, number> = {};
    for (const m of (await res.text()).matchAll(/^lectern_dropped_datagrams_total\{guard="(\w+)"\} (\d+)$/gm)) out[m[1]!] = Number(m[2]);
    return out;
  };
  const total = (d: Record<string, number>) => Object.values(d).reduce((a, b) => a + b, 0);

  const serverPortsOf = (pcs: { remoteDescription?: { sdp: string } | null }[]) =>
    [...new Set(pcs.flatMap((pc) => candidatePorts(pc.remoteDescription?.sdp)))];

  it("the reported 55-byte datagram at the publisher's and a viewer's media port changes nothing", async () => {
    const [publisherPort] = serverPortsOf([lecture.pub.pc]);
    const [viewerPort] = serverPortsOf([lecture.viewers[0]!.streams.get(lecture.streamId)!.viewer.pc]);
    expect(publisherPort).toBeGreaterThan(0);
    expect(viewerPort).toBeGreaterThan(0);
    const before = lecture.received();
    const droppedBefore = await dropped();
    for (let i = 0; i < 5; i++) {
      await send(HANGING_RTP, publisherPort!);
      await send(HANGING_RTP, viewerPort!);
    }
    expect(await lecture.status()).toBe(200);
    await lecture.moreMedia(before, 20, 'media after the datagram');
    // Forwarding threads report their counters every second.
    await waitUntil('the malformed counter', async () => (await dropped()).malformed ?? 0, (n) => n > (droppedBefore.malformed ?? 0), 10_000);
  });

  it('a spray of malformed and unauthenticated datagrams at every port of the server is dropped while the lecture goes on', async () => {
    const ports = udpPortsOf(lecture.server.pid);
    const peerPorts = serverPortsOf([lecture.pub.pc, ...lecture.viewers.map((v) => v.streams.get(lecture.streamId)!.viewer.pc)]);
    expect(ports).toEqual(expect.arrayContaining(peerPorts));
    expect(ports.length).toBeGreaterThan(peerPorts.length); // and the live-HLS WHEP pair's
    // which port answers a plain binding request without credentials: the loopback STUN responder, if any
    const request = Buffer.from('000100002112a442000102030405060708090a0b', 'hex');
    for (const port of ports) await send(request, port);
    await sleep(500);

    const spray = inputs(0x5eed, 4000, [makers.rtp, makers.rtcp, makers.stun, makers.dtls, makers.noise]);
    const droppedBefore = total(await dropped());
    const kernelBefore = kernelDrops(lecture.server.pid, ports);
    const before = lecture.received();

    let statusChecks = 0;
    let spraying = true;
    const statusLoop = (async () => {
      while (spraying) {
        expect(await lecture.status()).toBe(200);
        statusChecks++;
        await sleep(200);
      }
    })();
    let sent = 0;
    for (const port of ports) {
      for (let i = 0; i < spray.length; i += 50) {
        const burst = spray.slice(i, i + 50);
        await Promise.all(burst.map((b) => send(b, port)));
        sent += burst.length;
        await sleep(1);
      }
    }
    await sleep(500);
    spraying = false;
    await statusLoop;

    await lecture.moreMedia(before, 50, 'media during and after the spray');
    expect(statusChecks).toBeGreaterThan(0);
    // The guards drop what reaches the server's sockets; the kernel drops the rest when a socket's buffer is
    // full (a loaded machine). Most of what arrived is counted, none twice (forwarding threads report their
    // counters every second). Not all of it: werift discards some of the spray without a guard seeing it.
    const kernel = kernelDrops(lecture.server.pid, ports) - kernelBefore;
    const arrived = sent - kernel;
    const droppedNow = await waitUntil('the guards to count the spray', async () => total(await dropped()) - droppedBefore, (n) => n > arrived / 2, 10_000);
    console.log(`spray: ${sent} sent, ${kernel} dropped by the kernel, ${droppedNow} by the guards`);
    expect(droppedNow).toBeLessThanOrEqual(arrived);
    // At most one port ever answered, and not a media port: the STUN responder (answers may come late under load).
    const answering = [...new Set(answers)];
    expect(answering.length).toBeLessThanOrEqual(1);
    expect(peerPorts).not.toContain(answering[0]);
  }, 180_000);
});
