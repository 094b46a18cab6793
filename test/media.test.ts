import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RtpPacket } from 'werift';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient, type DownStream } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { LECTURE_GROUP, startTestServer, type TestServer } from './helpers/testServer.js';
import { directSendCounters } from '../src/forward/directSend.js';
import { payloadHash } from './helpers/viewerPeer.js';
import { waitFor } from './helpers/wait.js';

const VIEWERS = 5;
const UDP_RANGE: [number, number] = [42_000, 42_999];

/** The ports of the host candidates in an SDP. */
const candidatePorts = (sdp: string) => [...sdp.matchAll(/a=candidate:\S+ \d+ udp \d+ \S+ (\d+) typ host/g)].map((m) => Number(m[1]));

/** A viewer's down stream as a failure message shows it: ICE and DTLS states, packets received. */
function describeStream(s: DownStream | undefined): string {
  if (!s) return 'not offered';
  const pc = s.viewer.pc;
  const dtls = pc.dtlsTransports.map((t) => t.state).join(',');
  return `ice ${pc.iceConnectionState}, dtls ${dtls}, video ${s.viewer.video.length}, audio ${s.viewer.audio.length}${s.closed ? ', closed' : ''}`;
}

/** Feeds the test media into a publisher; returns a function that stops feeding. */
let feed: (pub: PublisherPeer, seen?: (rtp: Buffer) => void) => () => void;


/**
 * A lecture through the whole server: protocol v2 signalling, werift publisher and viewers, real VP8/Opus;
 * with the viewers' connections on the main thread, and on two forwarding threads (`--forward-threads 2`).
 */
describe.each([0, 2])('a lecture through the protocol (forwarding threads: %i)', (forwardThreads) => {
  let stun: LoopbackStun;
  let server: TestServer;
  let media: TestMedia;
  let teacher: MediaClient;
  let pub: PublisherPeer;
  let stopFeeding: () => void;
  let streamId: string;
  const viewers: MediaClient[] = [];
  const sent = new Set<string>();

  beforeAll(async () => {
    stun = await startLoopbackStun();
    server = await startTestServer({
      forwardThreads,
      config: { users: { root: { password: 'root-pw', permissions: 'admin' } } },
      portRange: UDP_RANGE,
      groups: { lecture: LECTURE_GROUP },
    });
    media = await startTestMedia();
    feed = (p, seen) => {
      const offVideo = media.onVideo((rtp) => {
        seen?.(rtp);
        p.sendVideo(rtp);
      });
      const offAudio = media.onAudio((rtp) => {
        seen?.(rtp);
        p.sendAudio(rtp);
      });
      return () => {
        offVideo();
        offAudio();
      };
    };
    const join = (username: string, password?: string) =>
      MediaClient.join({ url: server.wsUrl, group: 'lecture', username, password, stunPort: stun.port });
    teacher = await join('teacher', 'pw');
    for (let i = 0; i < VIEWERS; i++) {
      const v = await join(`student${i}`);
      v.request();
      viewers.push(v);
    }
    pub = createPublisherPeer({ stunPort: stun.port });
    stopFeeding = feed(pub, (buf) => sent.add(payloadHash(RtpPacket.deSerialize(buf).payload)));
    streamId = await teacher.publish('camera', pub);
    await pub.connected();
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...viewers, teacher].map((c) => c?.close()));
    stopFeeding?.();
    await pub?.close();
    await media?.close();
    await server?.stop();
    await stun?.close();
  });

  it('offers the stream to every viewer under the publisher stream id, with source, username and label', async () => {
    await waitFor(() => viewers.every((v) => v.streams.has(streamId)), 10_000, 'offers');
    for (const v of viewers) {
      expect(v.streams.get(streamId)).toMatchObject({ label: 'camera', username: 'teacher', source: teacher.id });
    }
    expect(teacher.streams.size).toBe(0); // nobody is offered their own stream
  });

  it('gathers the server candidates on 127.0.0.1 inside --udp-range', () => {
    for (const v of viewers) {
      const sdp = v.streams.get(streamId)!.viewer.pc.remoteDescription!.sdp;
      const ports = candidatePorts(sdp);
      expect(ports.length).toBeGreaterThan(0);
      for (const port of ports) expect(port >= UDP_RANGE[0] && port <= UDP_RANGE[1]).toBe(true);
      expect(sdp).not.toMatch(/a=candidate:.* (?!127\.0\.0\.1)\d+\.\d+\.\d+\.\d+ \d+ typ host/);
    }
  });

  it('every viewer receives video and audio with the payloads the publisher sent', async () => {
    const before = { ...directSendCounters };
    const peers = () => viewers.map((v) => v.streams.get(streamId)!.viewer);
    // ffmpeg sends a keyframe every 2 s and cannot answer PLIs: wait for one to pass through.
    await waitFor(
      () => peers().every((p) => p.video.length >= 60 && p.audio.length >= 50 && p.video.some((r) => r.keyframe)),
      20_000,
      'media and a keyframe at every viewer',
    );
    for (const p of peers()) expect([...p.video, ...p.audio].every((r) => sent.has(r.hash))).toBe(true);
    if (forwardThreads === 0) {
      // werift viewers negotiate AES-GCM over UDP: every packet took the direct SRTP path, none werift's.
      // (Forwarding threads count in their own copy of the module.)
      expect(directSendCounters.direct - before.direct).toBeGreaterThan(0);
      expect(directSendCounters.fallback).toBe(before.fallback);
    }
  });

  it("a viewer's lost packets are resent from the cache, with its own SSRC and the publisher's bytes", async () => {
    const v = viewers[0]!.streams.get(streamId)!.viewer;
    const ssrc = v.offeredSsrc('video')!;
    v.dropWhen((p) => p.header.ssrc === ssrc && p.header.sequenceNumber % 13 === 0);
    await waitFor(() => v.dropped.length >= 5, 30_000, '5 dropped packets');
    v.dropWhen(undefined);
    const dropped = [...v.dropped];
    await waitFor(() => dropped.every((s) => v.video.some((r) => r.seq === s)), 30_000, 'the dropped packets resent');
    for (const s of dropped) {
      const r = v.video.find((x) => x.seq === s)!;
      expect(r.ssrc).toBe(ssrc);
      expect(sent.has(r.hash)).toBe(true);
    }
  }, 90_000);

  it('reports the streams in /galene-api/v0/.stats, for admins only', async () => {
    const statsUrl = `${server.url}/galene-api/v0/.stats`;
    expect((await fetch(statsUrl)).status).toBe(401);
    const wrong = await fetch(statsUrl, { headers: { Authorization: `Basic ${Buffer.from('root:nope').toString('base64')}` } });
    expect(wrong.status).toBe(401);
    const res = await fetch(statsUrl, { headers: { Authorization: `Basic ${Buffer.from('root:root-pw').toString('base64')}` } });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as { name: string; clients: { id: string; up?: { id: string; tracks: unknown[] }[]; down?: { id: string }[] }[] }[];
    const lecture = stats.find((g) => g.name === 'lecture')!;
    const speaker = lecture.clients.find((c) => c.id === teacher.id)!;
    expect(speaker.up).toEqual([expect.objectContaining({ id: streamId, tracks: expect.any(Array) })]);
    expect(speaker.up![0]!.tracks.length).toBe(2);
    for (const v of viewers) {
      expect(lecture.clients.find((c) => c.id === v.id)!.down).toEqual([expect.objectContaining({ id: streamId })]);
    }
  });

  it('a late joiner gets a keyframe within 500 ms of connecting', async () => {
    const late = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'late', stunPort: stun.port });
    viewers.push(late);
    late.request();
    await waitFor(() => late.streams.get(streamId)?.viewer.video.some((r) => r.keyframe) ?? false, 10_000, 'a keyframe');
    const peer = late.streams.get(streamId)!.viewer;
    const keyframe = peer.video.find((r) => r.keyframe)!;
    expect(keyframe.at - peer.connectedAt!).toBeLessThan(500);
  });

  it('a viewer that asks for nothing gets no stream', async () => {
    const quiet = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'quiet', stunPort: stun.port });
    viewers.push(quiet);
    quiet.request({ '': [] });
    await new Promise((r) => setTimeout(r, 500));
    expect(quiet.streams.size).toBe(0);
  });

  it('a viewer that first asks for audio only and then for video gets a new offer that adds it', async () => {
    const v = viewers.find((c) => c.username === 'quiet')!;
    v.request({ '': ['audio'] });
    await waitFor(() => (v.streams.get(streamId)?.viewer.audio.length ?? 0) > 20, 10_000, 'audio only');
    const peer = v.streams.get(streamId)!.viewer;
    expect(peer.video.length).toBe(0);
    v.request({ '': ['audio', 'video'] });
    await waitFor(() => v.ws.received.filter((m) => m.type === 'offer' && m.id === streamId).length >= 2, 10_000, 'a second offer');
    await waitFor(() => peer.video.length > 20, 10_000, 'video after the new request');
  });

  it('a replacing stream (camera switch) is offered with replace, and the old one is not closed separately', async () => {
    const pub2 = createPublisherPeer({ stunPort: stun.port });
    const stopFeeding2 = feed(pub2);
    const oldId = streamId;
    streamId = await teacher.publish('camera', pub2, oldId);
    const watching = viewers;
    await waitFor(() => watching.every((v) => v.streams.get(streamId)?.replace === oldId), 10_000, 'replacing offers');
    await waitFor(() => watching.every((v) => v.streams.get(streamId)!.viewer.video.length > 10), 10_000, 'media of the new stream');
    for (const v of viewers) expect(v.ws.received.some((m) => m.type === 'close' && m.id === oldId)).toBe(false);
    stopFeeding();
    await pub.close();
    pub = pub2;
    stopFeeding = stopFeeding2;
  });

  it('a successor that ends before it was announced does not leave the stream it replaced behind', async () => {
    // A -> B -> C where B never sends media (so it is never announced): when C takes over, A ends too.
    const silent = createPublisherPeer({ stunPort: stun.port });
    const oldId = streamId;
    const silentId = await teacher.publish('camera', silent, oldId);
    const pub3 = createPublisherPeer({ stunPort: stun.port });
    const stopFeeding3 = feed(pub3);
    streamId = await teacher.publish('camera', pub3, silentId);
    await waitFor(
      () => viewers.every((v) => v.streams.get(streamId)?.viewer.video.length),
      20_000,
      () => `media of the last stream (per viewer: ${viewers.map((v) => describeStream(v.streams.get(streamId))).join('; ')})`,
    );
    await waitFor(
      () => viewers.every((v) => v.ws.received.some((m) => m.type === 'close' && m.id === oldId)),
      10_000,
      'the first stream to close',
    );
    stopFeeding();
    await Promise.all([pub.close(), silent.close()]);
    pub = pub3;
    stopFeeding = stopFeeding3;
  });

  it('renegotiate from a viewer gets a fresh offer with an ICE restart, and media keeps flowing', async () => {
    const v = viewers[0]!;
    const peer = v.streams.get(streamId)!.viewer;
    const ufrag = () => /a=ice-ufrag:(\S+)/.exec(peer.pc.remoteDescription!.sdp)![1];
    const before = ufrag();
    v.ws.send({ type: 'renegotiate', id: streamId, source: v.id, username: v.username });
    await waitFor(() => ufrag() !== before, 10_000, 'a restarted offer');
    const count = peer.video.length;
    await waitFor(() => peer.video.length > count + 30, 10_000, 'media after the restart');
  });

  it('closing the stream closes it at every viewer', async () => {
    teacher.unpublish(streamId);
    await waitFor(() => viewers.every((v) => !v.streams.has(streamId) || v.streams.get(streamId)!.closed), 10_000, 'close everywhere');
    for (const v of [...viewers, teacher]) expect(v.ws.errors).toEqual([]);
  });
});
