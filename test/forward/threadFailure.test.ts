import dc from 'node:diagnostics_channel';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackStun, type LoopbackStun } from '../helpers/loopbackStun.js';
import { MediaClient } from '../helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from '../helpers/mediaSource.js';
import { LECTURE_GROUP, startTestServer, type TestServer } from '../helpers/testServer.js';
import { waitFor } from '../helpers/wait.js';

/** Every worker thread this process starts (Node publishes each on this diagnostics channel). */
const workers: Worker[] = [];
const onWorker = (m: unknown): void => void workers.push((m as { worker: Worker }).worker);

/**
 * A forwarding thread that dies (killed here from outside, as a crash would end it) takes its viewers'
 * connections with it: the server starts another thread and offers them their streams again.
 */
describe('a forwarding thread that dies', () => {
  let stun: LoopbackStun;
  let server: TestServer;
  let media: TestMedia;
  let teacher: MediaClient;
  let viewer: MediaClient;
  let pub: PublisherPeer;
  let streamId: string;
  const stopFeeding: (() => void)[] = [];

  beforeAll(async () => {
    dc.subscribe('worker_threads', onWorker);
    stun = await startLoopbackStun();
    server = await startTestServer({
      forwardThreads: 1,
      groups: { lecture: LECTURE_GROUP },
    });
    media = await startTestMedia();
    const join = (username: string, password?: string) =>
      MediaClient.join({ url: server.wsUrl, group: 'lecture', username, password, stunPort: stun.port });
    teacher = await join('teacher', 'pw');
    viewer = await join('student');
    viewer.request();
    pub = createPublisherPeer({ stunPort: stun.port });
    stopFeeding.push(
      media.onVideo((rtp) => pub.sendVideo(rtp)),
      media.onAudio((rtp) => pub.sendAudio(rtp)),
    );
    streamId = await teacher.publish('camera', pub);
    await pub.connected();
  }, 60_000);

  afterAll(async () => {
    dc.unsubscribe('worker_threads', onWorker);
    await Promise.all([viewer, teacher].map((c) => c?.close()));
    for (const stop of stopFeeding) stop();
    await pub?.close();
    await media?.close();
    await server?.stop();
    await stun?.close();
  });

  const watching = () => viewer.streams.get(streamId);
  const receivesMedia = (what: string) =>
    waitFor(() => {
      const s = watching();
      return !!s && !s.closed && s.viewer.video.some((r) => r.keyframe) && s.viewer.audio.length >= 25;
    }, 20_000, what);

  it('is replaced, and its viewer is offered the stream again and receives media', async () => {
    await receivesMedia('media through the first thread');
    const first = watching()!;
    expect(workers).toHaveLength(1);

    await workers[0]!.terminate();

    // the client is told the stream closed, then gets a new offer for it (a new connection)
    await waitFor(() => first.closed, 5_000, 'close of the stream on the dead thread');
    await receivesMedia('media through the new thread');
    expect(watching()).not.toBe(first);
    expect(workers).toHaveLength(2);
    expect(viewer.ws.errors).toEqual([]);
  });

  it('takes new viewers on the new thread', async () => {
    const late = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'late', stunPort: stun.port });
    try {
      late.request();
      await waitFor(() => (late.streams.get(streamId)?.viewer.audio.length ?? 0) >= 25, 20_000, 'media for a late viewer');
      expect(workers).toHaveLength(2);
    } finally {
      await late.close();
    }
  });
});
