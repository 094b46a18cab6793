import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RtpHeader, RtpPacket, serializeSdesMid, serializeSdesRTPStreamID } from 'werift';
import { LecternError } from '../../src/errors.js';
import { DownConnection } from '../../src/forward/DownConnection.js';
import { UpConnection } from '../../src/ingest/UpConnection.js';
import { silentLogger } from '../../src/log.js';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { startTestMedia, whenConnected } from '../helpers/mediaSource.js';
import { extensionIds, simulcastOfferPeer } from '../helpers/simulcastPublisher.js';
import { ViewerPeer } from '../helpers/viewerPeer.js';
import { ICE, sleep, startFixture, waitFor, type Fixture } from './fixture.js';

const upOpts = (id: string, codecs = ['vp8', 'opus']) => ({
  id,
  label: 'camera',
  clientId: 'pub',
  username: 'speaker',
  codecs,
  ice: ICE,
  log: silentLogger,
});

async function expectBadSdp(p: Promise<unknown>): Promise<void> {
  await expect(p).rejects.toBeInstanceOf(LecternError);
  await p.catch((e: LecternError) => expect(e.code).toBe('bad-sdp'));
}

describe('negotiation on a live stream', () => {
  let f: Fixture;

  beforeAll(async () => {
    f = await startFixture();
  }, 60_000);

  afterAll(async () => {
    await f?.close();
  });

  it('garbage SDP gives bad-sdp and nothing else breaks', async () => {
    const viewer = await f.addViewer();
    await waitFor(() => viewer.peer.video.length > 20, 10_000, 'video');

    for (const garbage of ['', 'hello', 'v=0\r\nm=video\r\n', 'v=0\r\ns=-\r\nt=0 0\r\n', '{"type":"offer"}']) {
      await expectBadSdp(UpConnection.accept(upOpts(`bad-${garbage.length}`), garbage));
    }
    // A well-formed offer with only a codec the group does not allow
    const h264Only = (await f.pub.pc.createOffer()).sdp.replace(/VP8\/90000/g, 'H264/90000');
    await expectBadSdp(UpConnection.accept(upOpts('h264-only'), h264Only));
    await expectBadSdp(f.up.renegotiate('not sdp'));

    // A garbage answer from a second viewer: that down connection stays usable
    const down = new DownConnection(f.up, { id: f.up.id, clientId: 'bad-answer', request: ['audio', 'video'], ice: ICE, log: silentLogger });
    await down.createOffer();
    await expectBadSdp(down.setAnswer('garbage'));
    await expectBadSdp(down.setAnswer(''));
    down.close();

    const before = viewer.peer.video.length;
    await waitFor(() => viewer.peer.video.length > before + 30, 10_000, 'video after garbage');
    expect(f.up.closed).toBe(false);
  });

  it('requestStream: dropping video stops it, asking again resumes with a keyframe', async () => {
    const v = await f.addViewer(['audio', 'video']);
    await waitFor(() => v.peer.video.length > 20, 10_000, 'video');
    v.down.setRequest(['audio']);
    await sleep(300);
    const stopped = v.peer.video.length;
    const audioBefore = v.peer.audio.length;
    await sleep(700);
    expect(v.peer.video.length).toBe(stopped);
    expect(v.peer.audio.length).toBeGreaterThan(audioBefore + 20);

    const resumedAt = performance.now();
    v.down.setRequest(['audio', 'video']);
    await waitFor(() => v.peer.video.slice(stopped).some((r) => r.keyframe), 5000, 'a keyframe after resuming');
    const kf = v.peer.video.slice(stopped).find((r) => r.keyframe)!;
    expect(kf.at - resumedAt).toBeLessThanOrEqual(500);
    // Sequence numbers continue without a gap for the viewer
    expect(v.peer.video[stopped]!.seq).toBe((v.peer.video[stopped - 1]!.seq + 1) & 0xffff);
  });

  it('a publisher ICE restart (renegotiate with the same id) keeps the media flowing', async () => {
    const v = await f.addViewer();
    await waitFor(() => v.peer.video.length > 20, 10_000, 'video');
    const offer = await f.pub.createOffer({ iceRestart: true });
    const answer = await f.up.renegotiate(offer);
    expect(answer).toContain('a=ice-lite');
    await f.pub.setAnswer(answer);
    const before = v.peer.video.length;
    await waitFor(() => v.peer.video.length > before + 60, 15_000, 'video after the ICE restart');
  });

  it('a viewer ICE restart (re-offer) keeps the media flowing', async () => {
    const v = await f.addViewer();
    await waitFor(() => v.peer.video.length > 20, 10_000, 'video');
    const offer = await v.down.createOffer({ iceRestart: true });
    await v.down.setAnswer(await v.peer.answer(offer));
    const before = v.peer.video.length;
    await waitFor(() => v.peer.video.length > before + 60, 15_000, 'video after the ICE restart');
  });
});

describe('stream kinds', () => {
  const closers: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
  });

  it('an audio-only stream is offered to viewers as audio only', async () => {
    const f = await startFixture({ media: { video: false }, label: 'microphone' });
    closers.push(() => f.close());
    expect(f.up.label).toBe('microphone');
    expect(f.up.tracks().map((t) => t.kind)).toEqual(['audio']);
    const v = await f.addViewer(['audio', 'video']);
    expect(v.peer.pc.remoteDescription!.sdp).not.toContain('m=video');
    await waitFor(() => v.peer.audio.length > 50, 10_000, 'audio');
    expect(v.peer.audio.every((r) => f.audio.has(r.ts, r.hash))).toBe(true);
  });

  it('a screenshare (video only) is forwarded like a camera', async () => {
    const f = await startFixture({ media: { audio: false }, label: 'screenshare' });
    closers.push(() => f.close());
    expect(f.up.label).toBe('screenshare');
    const v = await f.addViewer(['audio', 'video']);
    expect(v.peer.pc.remoteDescription!.sdp).not.toContain('m=audio');
    await waitFor(() => v.peer.video.length > 50, 10_000, 'video');
    expect(v.peer.video.every((r) => f.video.has(r.ts, r.hash))).toBe(true);
  });
});

describe('simulcast', () => {
  let stun: LoopbackStun;
  const closers: (() => Promise<void> | void)[] = [];

  beforeAll(async () => {
    stun = await startLoopbackStun();
  });
  afterAll(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await stun.close();
  });

  it('accepts an offer with rids h and l, negotiates mid/rid, forwards one layer per viewer without extensions', async () => {
    // werift cannot send simulcast from one sender; the offer is real, the layers are written by hand on
    // two SSRCs with the mid and rid header extensions, as Chrome does.
    const { pc, transceiver } = await simulcastOfferPeer(stun.port);
    closers.push(() => pc.close());
    const offer = pc.localDescription!.sdp;
    expect(offer).toContain('a=simulcast:send h;l');

    const { conn: up, answerSdp } = await UpConnection.accept(upOpts('simulcast-1'), offer);
    closers.push(() => up.close());
    expect(answerSdp).toMatch(/a=rid:h recv\r\n/);
    expect(answerSdp).toMatch(/a=rid:l recv\r\n/);
    expect(answerSdp).toMatch(/a=simulcast:recv h;l\r\n/);
    expect(answerSdp).toContain('urn:ietf:params:rtp-hdrext:sdes:mid');
    expect(answerSdp).toContain('urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id');
    expect(answerSdp).toContain('urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id');
    expect(answerSdp).toContain('x-google-start-bitrate=');
    expect(up.tracks().map((t) => t.rid)).toEqual(['h', 'l']);

    await pc.setRemoteDescription({ type: 'answer', sdp: answerSdp });
    await whenConnected(pc);
    const { mid: midId, rid: ridId } = extensionIds(answerSdp);
    const mid = transceiver.mid!;
    const L_OFFSET = 1_000_000; // the low layer's timestamps, so that viewers can tell the layers apart

    const media = await startTestMedia({ audio: false });
    closers.push(() => media.close());
    const dtls = transceiver.dtlsTransport;
    media.onVideo((rtp) => {
      const p = RtpPacket.deSerialize(rtp);
      for (const [rid, ssrc, tsOffset] of [['h', 0x1000, 0], ['l', 0x2000, L_OFFSET]] as const) {
        const header = new RtpHeader({
          ssrc,
          payloadType: 96,
          sequenceNumber: p.header.sequenceNumber,
          timestamp: (p.header.timestamp + tsOffset) >>> 0,
          marker: p.header.marker,
          extensions: [
            { id: midId, payload: serializeSdesMid(mid) },
            { id: ridId, payload: serializeSdesRTPStreamID(rid) },
          ],
        });
        void dtls.sendRtp(p.payload, header);
      }
    });
    const published = new Set<number>();
    media.onVideo((rtp) => published.add(RtpPacket.deSerialize(rtp).header.timestamp));

    const viewers: Record<string, ViewerPeer> = {};
    for (const request of ['video', 'video-low']) {
      const peer = new ViewerPeer({ stunPort: stun.port });
      const down = new DownConnection(up, { id: up.id, clientId: request, request: [request], ice: ICE, log: silentLogger });
      closers.push(() => peer.close());
      closers.push(() => down.close());
      await down.setAnswer(await peer.answer(await down.createOffer()));
      await peer.connected();
      viewers[request] = peer;
    }
    await waitFor(
      () => viewers['video']!.video.length > 40 && viewers['video-low']!.video.length > 40,
      15_000,
      'video at both viewers',
    );
    const high = viewers['video']!.video;
    const low = viewers['video-low']!.video;
    expect(high.every((r) => published.has(r.ts))).toBe(true);
    expect(low.every((r) => published.has((r.ts - L_OFFSET) >>> 0))).toBe(true);
    expect([...high, ...low].every((r) => r.extensions === 0)).toBe(true);
    expect(high.some((r) => r.keyframe) && low.some((r) => r.keyframe)).toBe(true);
  });
});
