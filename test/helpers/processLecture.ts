import { startLoopbackStun, type LoopbackStun } from './loopbackStun.js';
import { MediaClient } from './MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './mediaSource.js';
import { startServerProcess, type ServerProcess } from './serverProcess.js';
import { LECTURE_GROUP } from './testServer.js';
import { waitFor } from './wait.js';

/** Audio and video packets each viewer has received so far. */
export type Received = { audio: number; video: number }[];

/**
 * A lecture going on, for tests that attack it: the server as its own process (default settings, so live HLS
 * runs; `metricsToken` set so that its counters can be read), a teacher publishing a werift camera stream, and
 * two werift viewers receiving it.
 */
export interface ProcessLecture {
  server: ServerProcess;
  pub: PublisherPeer;
  viewers: MediaClient[];
  streamId: string;
  metricsToken: string;
  received(): Received;
  /** Resolves once every viewer has received `n` more audio and video packets than in `before`. */
  moreMedia(before: Received, n: number, what: string): Promise<void>;
  /** `.status` of the lecture group, with a generous limit: a server that stopped serving fails here. */
  status(): Promise<number>;
  close(): Promise<void>;
}

export async function startProcessLecture(args: string[] = []): Promise<ProcessLecture> {
  const metricsToken = 'process-lecture-metrics';
  const stun: LoopbackStun = await startLoopbackStun();
  const server = await startServerProcess({ groups: { lecture: LECTURE_GROUP }, config: { metricsToken }, args });
  const media: TestMedia = await startTestMedia();
  const teacher = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'teacher', password: 'pw', stunPort: stun.port });
  const viewers = await Promise.all(
    ['ann', 'bob'].map((username) => MediaClient.join({ url: server.wsUrl, group: 'lecture', username, stunPort: stun.port })),
  );
  for (const v of viewers) v.request();
  const pub = createPublisherPeer({ stunPort: stun.port });
  const stops = [media.onVideo((rtp) => pub.sendVideo(rtp)), media.onAudio((rtp) => pub.sendAudio(rtp))];
  const streamId = await teacher.publish('camera', pub);
  await pub.connected();
  for (const v of viewers) {
    await waitFor(() => (v.streams.get(streamId)?.viewer.video.length ?? 0) >= 10, 30_000, `video at ${v.username}`);
  }
  const received = (): Received =>
    viewers.map((v) => {
      const s = v.streams.get(streamId)!.viewer;
      return { audio: s.audio.length, video: s.video.length };
    });
  return {
    server,
    pub,
    viewers,
    streamId,
    metricsToken,
    received,
    moreMedia: (before, n, what) =>
      waitFor(() => received().every((r, i) => r.audio >= before[i]!.audio + n && r.video >= before[i]!.video + n), 20_000, what),
    status: async () => (await fetch(`${server.url}/group/lecture/.status`, { signal: AbortSignal.timeout(10_000) })).status,
    close: async () => {
      for (const stop of stops) stop();
      await Promise.all([teacher, ...viewers].map((c) => c.close()));
      await pub.close();
      await media.close();
      await server.stop();
      await stun.close();
    },
  };
}
