import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { StockViewer, type KindCount } from './helpers/stockViewer.js';
import { LECTURE_GROUP, startTestServer, type TestServer } from './helpers/testServer.js';
import { sleep, waitFor } from './helpers/wait.js';

const VIEWERS = 20;
const WINDOW_MS = 10_000;

/**
 * Viewers nobody here wrote: 20 plain werift peers with werift's default RTCP (receiver reports, NACKs for
 * audio and video, no REMB) watch a lecture of real VP8 and Opus. Every one must get (nearly) every packet
 * the publisher sent, audio as much as video, whatever its feedback says.
 */
describe('stock werift viewers', () => {
  let stun: LoopbackStun;
  let server: TestServer;
  let media: TestMedia;
  let teacher: MediaClient;
  let pub: PublisherPeer;
  const stops: (() => void)[] = [];
  const viewers: StockViewer[] = [];
  /** Sequence numbers the publisher sent, per kind, while `recording`. */
  const sent = { audio: new Set<number>(), video: new Set<number>() };
  let recording = false;

  beforeAll(async () => {
    stun = await startLoopbackStun();
    server = await startTestServer({ groups: { lecture: LECTURE_GROUP } });
    media = await startTestMedia();
    teacher = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'teacher', password: 'pw', stunPort: stun.port });
    pub = createPublisherPeer({ stunPort: stun.port });
    const seqOf = (rtp: Buffer) => rtp.readUInt16BE(2);
    stops.push(
      media.onVideo((rtp) => {
        if (recording) sent.video.add(seqOf(rtp));
        pub.sendVideo(rtp);
      }),
      media.onAudio((rtp) => {
        if (recording) sent.audio.add(seqOf(rtp));
        pub.sendAudio(rtp);
      }),
    );
    await teacher.publish('camera', pub);
    await pub.connected();
    for (let i = 0; i < VIEWERS; i++) viewers.push(await StockViewer.join({ url: server.wsUrl, group: 'lecture', username: `student${i}` }));
  }, 90_000);

  afterAll(async () => {
    for (const stop of stops) stop();
    await Promise.allSettled(viewers.map((v) => v.close()));
    await teacher?.close();
    await pub?.close();
    await media?.close();
    await server?.stop();
    await stun?.close();
  });

  it('every viewer gets at least 99 % of the audio and of the video packets sent in 10 s', async () => {
    const counts = () => viewers.map((v) => [...v.streams.values()][0]);
    await waitFor(
      () => counts().every((s) => s !== undefined && s.audio.seqs.size > 0 && s.video.seqs.size > 0),
      30_000,
      () => `media at every viewer: ${counts().map((s) => (s ? `${s.pc.connectionState} a${s.audio.seqs.size} v${s.video.seqs.size}` : 'no offer')).join('; ')}`,
    );
    recording = true;
    await sleep(WINDOW_MS);
    recording = false;
    // Every viewer is past the window (a loaded machine delays everything alike), then retransmissions land.
    const newest = (of: Set<number>) => Math.max(...of);
    const past = (k: KindCount, of: Set<number>) => [...k.seqs].some((x) => x > newest(of) && x - newest(of) < 1000);
    await waitFor(() => counts().every((s) => past(s!.audio, sent.audio) && past(s!.video, sent.video)), 20_000, 'packets after the window');
    await sleep(1000);
    expect(sent.audio.size).toBeGreaterThan(200); // Opus: 50 packets a second
    expect(sent.video.size).toBeGreaterThan(200);
    const share = (k: KindCount, of: Set<number>) => [...of].filter((s) => k.seqs.has(s)).length / of.size;
    const report = counts().map((s, i) => ({
      viewer: i,
      audio: share(s!.audio, sent.audio),
      video: share(s!.video, sent.video),
    }));
    const worst = report.filter((r) => r.audio < 0.99 || r.video < 0.99);
    expect(worst, JSON.stringify(worst)).toEqual([]);
    for (const v of viewers) expect(v.errors).toEqual([]);
  }, 60_000);
});
