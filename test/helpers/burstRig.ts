/**
 * A burst of viewers joining one lecture at once, shared by test/forward/burst.test.ts and bench/burst.ts.
 *
 * The publisher (ffmpeg VP8 + Opus through a werift peer, over the real protocol) lives in the calling
 * process; the viewers are bench/leanViewer.ts viewers (one WebSocket + one werift PeerConnection each) in
 * forked viewer processes (bench/viewerWorker.ts), so that their DTLS handshakes, which are as costly as the
 * server's, do not run on the server's event loop. The WebSockets are opened first (`open`), then every
 * viewer sends its `join` at once (`join`). Every process started here is killed by `close()`.
 */
import { Worker } from '../../bench/viewerProcess.js';
import type { JoinTiming, ViewerMode } from '../../bench/fanoutProtocol.js';
import { startLoopbackStun, type LoopbackStun } from './loopbackStun.js';
import { MediaClient } from './MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia, type TestMediaOptions } from './mediaSource.js';

export interface Publishing {
  stun: LoopbackStun;
  media: TestMedia;
  speaker: MediaClient;
  pub: PublisherPeer;
  close(): Promise<void>;
}

/** Joins as `username` (an op), publishes the test media as 'camera' and waits for the connection. */
export async function startPublishing(opts: {
  wsUrl: string;
  group: string;
  username: string;
  password: string;
  media?: TestMediaOptions;
}): Promise<Publishing> {
  const stun = await startLoopbackStun();
  const media = await startTestMedia(opts.media);
  let speaker: MediaClient | undefined;
  let pub: PublisherPeer | undefined;
  const close = async () => {
    await media.close().catch(() => undefined);
    await pub?.close().catch(() => undefined);
    await speaker?.close().catch(() => undefined);
    await stun.close().catch(() => undefined);
  };
  try {
    speaker = await MediaClient.join({ url: opts.wsUrl, group: opts.group, username: opts.username, password: opts.password, stunPort: stun.port });
    const sp = speaker;
    sp.ws.onMessage((m) => {
      if (m.type === 'ping') sp.ws.send({ type: 'pong' });
    });
    const peer = createPublisherPeer({ stunPort: stun.port });
    pub = peer;
    media.onVideo((rtp) => peer.sendVideo(rtp));
    media.onAudio((rtp) => peer.sendAudio(rtp));
    await speaker.publish('camera', peer);
    await peer.connected();
    await media.firstVideo();
    return { stun, media, speaker, pub: peer, close };
  } catch (err) {
    await close();
    throw err;
  }
}

export interface ViewerFleet {
  readonly workers: readonly Worker[];
  /**
   * Creates viewers `from` .. `from + n - 1` and opens their WebSockets (protocol handshake done), without
   * joining, so that a later `join` is a burst of `join` messages on open connections.
   */
  open(from: number, n: number): Promise<void>;
  /**
   * Joins viewers `from` .. `from + n - 1` all at once (each process gets its share in one command, and
   * starts them without waiting for each other); resolves with every viewer's timings once each has its
   * first video packet or has failed (`joinTimeoutMs` after its join).
   */
  join(from: number, n: number): Promise<JoinTiming[]>;
  close(): Promise<void>;
}

/** `processes` viewer processes, ready to join `group` at `wsUrl`. */
export async function startViewerFleet(opts: {
  wsUrl: string;
  group: string;
  processes: number;
  /** Nice value of the viewer processes (0: compete with the server as equals). */
  nice?: number;
  mode?: ViewerMode;
  joinTimeoutMs: number;
}): Promise<ViewerFleet> {
  const workers: Worker[] = [];
  const close = async () => {
    await Promise.all(workers.map((w) => w.stop()));
  };
  try {
    for (let i = 0; i < opts.processes; i++) workers.push(Worker.start(opts.nice ?? 0));
    await Promise.all(
      workers.map((w) =>
        w.request<'ok'>({ cmd: 'init', url: opts.wsUrl, group: opts.group, mode: opts.mode ?? 'count', joinTimeoutMs: opts.joinTimeoutMs }, 30_000),
      ),
    );
  } catch (err) {
    await close();
    throw err;
  }
  const share = (from: number, n: number) => {
    const byWorker = workers.map(() => [] as number[]);
    for (let i = from; i < from + n; i++) byWorker[i % workers.length]!.push(i);
    return byWorker;
  };
  return {
    workers,
    async open(from, n) {
      const byWorker = share(from, n);
      await Promise.all(workers.map((w, k) => (byWorker[k]!.length === 0 ? undefined : w.request<'ok'>({ cmd: 'open', indices: byWorker[k]! }, 60_000))));
    },
    async join(from, n) {
      const byWorker = share(from, n);
      const replies = await Promise.all(
        workers.map((w, k) =>
          byWorker[k]!.length === 0
            ? Promise.resolve({ timings: [] as JoinTiming[] })
            : w.request<'joined'>({ cmd: 'join', indices: byWorker[k]! }, opts.joinTimeoutMs + 20_000),
        ),
      );
      return replies.flatMap((r) => r.timings).sort((a, b) => a.index - b.index);
    },
    close,
  };
}

/** The p-th percentile (nearest rank) of xs, or null when empty. */
export function percentile(xs: readonly number[], p: number): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/** The last milestone a viewer reached, from its timings. */
export function lastMilestone(t: JoinTiming): string {
  if (t.firstVideoMs !== undefined) return 'video';
  if (t.connectedMs !== undefined) return 'connected';
  if (t.answerSentMs !== undefined) return 'answer sent';
  if (t.offerMs !== undefined) return 'offer received';
  if (t.joinedMs !== undefined) return 'joined';
  if (t.joinSentAt !== undefined) return 'join sent';
  return 'no WebSocket handshake';
}

/** Failed viewers grouped by error (numbers of milliseconds blanked) and last milestone: { reason: count }. */
export function failureReasons(timings: readonly JoinTiming[]): Record<string, number> {
  const reasons: Record<string, number> = {};
  for (const t of timings) {
    if (t.ok) continue;
    const r = `${(t.error ?? 'unknown').replace(/\d+(\.\d+)? ms/g, '# ms')} [last: ${lastMilestone(t)}]`;
    reasons[r] = (reasons[r] ?? 0) + 1;
  }
  return reasons;
}
