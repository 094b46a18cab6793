/**
 * A recording's audio and video start together, whichever reaches the recorder first: the publisher (a werift
 * peer fed by the test media's real ffmpeg) holds one track back after `record`, and the WebM the server
 * writes is read with the real ffmpeg: the first video and audio packets are within one video frame of each
 * other, the file decodes cleanly, and its jobs (composite, HLS replay) make files that decode cleanly too.
 */
import fs from 'node:fs';
import path from 'node:path';
import { RtpPacket } from 'werift';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isKeyframe } from '../src/forward/keyframe.js';
import { decodeFile, packetTimes } from './helpers/decode.js';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { sleep, waitFor, waitUntil } from './helpers/wait.js';

const GROUP = {
  'allow-recording': true,
  users: { teacher: { password: 'pw', permissions: 'op' } },
};

describe("a recording's audio and video start together", () => {
  let stun: LoopbackStun;
  let media: TestMedia;
  let server: TestServer;

  beforeAll(async () => {
    stun = await startLoopbackStun();
    // A keyframe every 2 s, and this ffmpeg ignores the recorder's keyframe requests.
    media = await startTestMedia({ gop: 60 });
    server = await startTestServer({ groups: { 'audio-first': GROUP, 'video-first': GROUP } });
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    await media?.close();
    await stun?.close();
  });

  it.each(['audio', 'video'] as const)(
    '%s reaching the recorder first',
    async (first) => {
      const group = `${first}-first`;
      const teacher = await MediaClient.join({ url: server.wsUrl, group, username: 'teacher', password: 'pw', stunPort: stun.port });
      const pub = createPublisherPeer({ stunPort: stun.port });
      // The other track is held back until `release`; a video keyframe sent while recording is noted.
      let released = false;
      let recording = false;
      let keyframeSent = false;
      const offs = [
        media.onVideo((rtp) => {
          if (first === 'audio' && !released) return;
          if (recording && isKeyframe('vp8', RtpPacket.deSerialize(rtp).payload)) keyframeSent = true;
          pub.sendVideo(rtp);
        }),
        media.onAudio((rtp) => {
          if (first === 'video' && !released) return;
          pub.sendAudio(rtp);
        }),
      ];
      try {
        await teacher.publish('camera', pub);
        await pub.connected();
        const added = teacher.ws.next((m) => m.type === 'user' && m.kind === 'add' && m.username === 'RECORDING');
        teacher.ws.send({ type: 'groupaction', kind: 'record', source: teacher.id, username: 'teacher' });
        await added;
        recording = true;
        // Audio first: video comes 0.5 s later, from its next keyframe (up to 2 s more). Video first: audio
        // comes 0.5 s after a keyframe the recorder has.
        if (first === 'video') await waitFor(() => keyframeSent, 10_000, 'a keyframe sent while recording');
        await sleep(500);
        released = true;
        await sleep(5000);
        const gone = teacher.ws.next((m) => m.type === 'user' && m.kind === 'delete' && m.username === 'RECORDING');
        teacher.ws.send({ type: 'groupaction', kind: 'unrecord', source: teacher.id, username: 'teacher' });
        await gone;
      } finally {
        for (const off of offs) off();
        await teacher.close();
        await pub.close();
      }

      const dir = path.join(server.dir, 'recordings', group);
      const [file] = await waitUntil(
        'the recording',
        async () => (fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.webm') && !f.startsWith('.')) : []),
        (f) => f.length === 1,
        10_000,
      );
      const webm = path.join(dir, file!);
      const base = webm.slice(0, -'.webm'.length);
      // The jobs rewrite the file in place (finalize): read it once its chain is done.
      await waitUntil('the composite and the HLS replay', async () => [`${base}.mp4`, `${base}.hls/index.m3u8`].every((f) => fs.existsSync(f)), Boolean, 120_000);

      const { video, audio } = await packetTimes(webm);
      expect(video).toBeDefined();
      expect(audio).toBeDefined();
      // One video frame of the test media (30 fps; block times are whole ms).
      expect(video!.spacing).toBeCloseTo(1 / 30, 2);
      const starts = `${first} first: video starts at ${video!.first} s, audio at ${audio!.first} s`;
      expect(Math.abs(video!.first - audio!.first), starts).toBeLessThanOrEqual(video!.spacing);
      for (const f of [webm, `${base}.mp4`, `${base}.hls/index.m3u8`]) {
        const d = await decodeFile(f);
        expect({ f, errors: d.errors, code: d.code }).toEqual({ f, errors: [], code: 0 });
      }
    },
    180_000,
  );
});
