/**
 * Viewer churn with abrupt disconnects. A lecture (a werift publisher of real VP8 and Opus, live HLS on as by
 * default) has one steady viewer; for 60 s plain werift viewers join over protocol v2 and leave again, each
 * after a random time (some before their offer is answered, most once media flows), half of them cleanly
 * (`join` of kind `leave`, then the WebSocket and the peer connection closed) and half abruptly (the
 * WebSocket terminated without a close frame, the peer connection dropped without a word). Afterwards:
 * - the process's open sockets (server and clients run here, so both sides count) are back to their baseline;
 * - `/metrics` counts the clients and down streams it counted before;
 * - every Session, DownConnection, server peer connection and down track made during the churn is collected
 *   after a GC (a FinalizationRegistry sees each one go): nothing the server keeps outlives a session;
 * - the steady viewer got audio and video in every quarter of the churn and after it.
 * Heap and RSS before and after are printed, not asserted: on this shared machine they are noise.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DownConnection } from '../src/forward/DownConnection.js';
import { RtpDownTrack } from '../src/forward/RtpDownTrack.js';
import { Session } from '../src/signal/Session.js';
import { prng } from './fuzz/inputs.js';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { StockViewer } from './helpers/stockViewer.js';
import { LECTURE_GROUP, startTestServer, type TestServer } from './helpers/testServer.js';
import { sleep, waitUntil } from './helpers/wait.js';

const CHURN_MS = 60_000;
const WORKERS = 4;
/** A churning viewer stays between 0 and this long after its join (many get media, some not even an offer). */
const MAX_LIFE_MS = 2500;
const METRICS_TOKEN = 'churn-metrics';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Objects made while `tracking`, by kind, and how many of them the GC has collected. */
const made = { Session: 0, DownConnection: 0, RTCPeerConnection: 0, RtpDownTrack: 0 };
const collected = { ...made };
type Kind = keyof typeof made;
const finalizer = new FinalizationRegistry<Kind>((kind) => collected[kind]++);
const seen = new WeakSet<object>();
let tracking = false;
function track(kind: Kind, o: object): void {
  if (!tracking || seen.has(o)) return;
  seen.add(o);
  made[kind]++;
  finalizer.register(o, kind);
}

/**
 * Sees each object once, through a method every one of them calls: a Session's `init` (its join), a
 * DownConnection's `createOffer` (with its werift peer connection), a down track's `setSource`.
 */
function instrument(): () => void {
  const init = Session.prototype.init;
  const createOffer = DownConnection.prototype.createOffer;
  const setSource = RtpDownTrack.prototype.setSource;
  Session.prototype.init = function (this: Session, ...args) {
    track('Session', this);
    return init.apply(this, args);
  };
  DownConnection.prototype.createOffer = function (this: DownConnection, ...args) {
    track('DownConnection', this);
    track('RTCPeerConnection', (this as unknown as { pc: object }).pc);
    return createOffer.apply(this, args);
  };
  RtpDownTrack.prototype.setSource = function (this: RtpDownTrack, ...args) {
    track('RtpDownTrack', this);
    return setSource.apply(this, args);
  };
  return () => {
    Session.prototype.init = init;
    DownConnection.prototype.createOffer = createOffer;
    RtpDownTrack.prototype.setSource = setSource;
  };
}

/** This process's open sockets by kind (from /proc: fd links `socket:[inode]`, looked up in /proc/net). */
function openSockets(): Record<string, number> {
  const kinds = new Map<string, string>();
  for (const kind of ['udp', 'udp6', 'tcp', 'tcp6', 'unix']) {
    let lines: string[];
    try {
      lines = fs.readFileSync(`/proc/net/${kind}`, 'utf8').split('\n').slice(1);
    } catch {
      continue;
    }
    const col = kind === 'unix' ? 6 : 9;
    for (const l of lines) {
      const inode = l.trim().split(/\s+/)[col];
      if (inode) kinds.set(inode, kind.replace('6', ''));
    }
  }
  const out: Record<string, number> = {};
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let link: string;
    try {
      link = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // closed meanwhile
    }
    const m = /^socket:\[(\d+)\]$/.exec(link);
    if (!m) continue;
    const kind = kinds.get(m[1]!) ?? 'other';
    out[kind] = (out[kind] ?? 0) + 1;
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => a.localeCompare(b))); // one order, for comparing
}

/**
 * The open sockets once they have not changed for `SETTLED_MS`: a keep-alive HTTP connection (live HLS's
 * WHEP requests) is closed by the server within 5 s of its last request and must not be counted.
 */
async function steadySockets(): Promise<Record<string, number>> {
  const SETTLED_MS = 6000;
  const end = Date.now() + 40_000;
  let last = JSON.stringify(openSockets());
  let since = Date.now();
  while (Date.now() - since < SETTLED_MS) {
    if (Date.now() > end) throw new Error(`the open sockets did not settle: ${last}`);
    await sleep(250);
    const now = JSON.stringify(openSockets());
    if (now !== last) [last, since] = [now, Date.now()];
  }
  return JSON.parse(last) as Record<string, number>;
}

/** The gauges of `/metrics`, on a connection of its own that closes after the answer (no pooled socket). */
function gauges(server: TestServer): Promise<{ clients: number; downStreams: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(
      `${server.url}/metrics`,
      { agent: false, headers: { Authorization: `Bearer ${METRICS_TOKEN}`, Connection: 'close' }, timeout: 10_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => {
          const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
          resolve({ clients: value('lectern_clients'), downStreams: value('lectern_down_streams') });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('/metrics timed out')));
    req.on('error', reject);
  });
}

/** Heap and RSS after full collections, in KB. */
async function memory(): Promise<{ heapKB: number; rssKB: number }> {
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(100);
  }
  const m = process.memoryUsage();
  return { heapKB: Math.round(m.heapUsed / 1024), rssKB: Math.round(m.rss / 1024) };
}

describe('viewer churn with abrupt disconnects', () => {
  let stun: LoopbackStun;
  let server: TestServer;
  let media: TestMedia;
  let teacher: MediaClient;
  let pub: PublisherPeer;
  let steady: StockViewer;
  let uninstrument: (() => void) | undefined;
  const stops: (() => void)[] = [];

  beforeAll(async () => {
    uninstrument = instrument();
    stun = await startLoopbackStun();
    server = await startTestServer({ groups: { lecture: LECTURE_GROUP }, config: { metricsToken: METRICS_TOKEN } });
    media = await startTestMedia();
    teacher = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'teacher', password: 'pw', stunPort: stun.port });
    pub = createPublisherPeer({ stunPort: stun.port });
    stops.push(media.onVideo((rtp) => pub.sendVideo(rtp)), media.onAudio((rtp) => pub.sendAudio(rtp)));
    await teacher.publish('camera', pub);
    await pub.connected();
    steady = await StockViewer.join({ url: server.wsUrl, group: 'lecture', username: 'steady', timeoutMs: 20_000 });
  }, 60_000);

  afterAll(async () => {
    uninstrument?.();
    for (const stop of stops) stop();
    await steady?.close();
    await teacher?.close();
    await pub?.close();
    await media?.close();
    await server?.stop();
    await stun?.close();
  });

  it('after 60 s of joins and leaves, half abrupt, sockets, gauges and objects are back and the steady viewer kept receiving', async () => {
    const received = () => {
      const s = [...steady.streams.values()][0];
      return { audio: s?.audio.seqs.size ?? 0, video: s?.video.seqs.size ?? 0 };
    };
    await waitUntil('media at the steady viewer', async () => received(), (r) => r.audio > 0 && r.video > 0, 30_000);
    // Live HLS is running (its WHEP session and the sockets to ffmpeg exist) once the first segment is listed.
    const livePlaylist = path.join(server.dir, 'recordings', 'lecture', '.live', 'index.m3u8');
    await waitUntil('the live HLS playlist', async () => fs.existsSync(livePlaylist), (ok) => ok, 45_000);

    const baseSockets = await steadySockets();
    const baseGauges = await gauges(server);
    expect(baseGauges).toEqual({ clients: 2, downStreams: 1 }); // the teacher and the steady viewer, its one stream
    const baseMemory = await memory();

    tracking = true;
    const r = prng(0xc4075);
    const counts = { cycles: 0, clean: 0, abrupt: 0, withVideo: 0, failed: [] as string[] };
    const windows: { audio: number; video: number }[] = [received()];
    const sampler = setInterval(() => windows.push(received()), CHURN_MS / 4);
    const end = Date.now() + CHURN_MS;
    let next = 0;
    await Promise.all(
      Array.from({ length: WORKERS }, async () => {
        while (Date.now() < end) {
          const i = next++;
          const life = r() * MAX_LIFE_MS;
          let v: StockViewer | undefined;
          try {
            v = await StockViewer.join({ url: server.wsUrl, group: 'lecture', username: `churn${i}`, timeoutMs: 20_000 });
            await sleep(life);
            if ([...v.streams.values()].some((s) => s.video.seqs.size > 0)) counts.withVideo++;
            if (i % 2 === 0) {
              v.ws.send({ type: 'join', kind: 'leave', group: 'lecture', username: `churn${i}` });
              await v.close();
              counts.clean++;
            } else {
              await v.drop(); // no close frame, no leave, the peer connection gone without a word
              counts.abrupt++;
            }
          } catch (err) {
            counts.failed.push(String(err));
            if (v) await v.close();
          }
          counts.cycles++;
        }
      }),
    );
    clearInterval(sampler);
    windows.push(received());
    tracking = false;

    // Cleanup is asynchronous (WebSocket close, werift's close): poll, within bounds, for each property.
    const sockets = await waitUntil(
      `the open sockets back to their baseline ${JSON.stringify(baseSockets)}`,
      async () => openSockets(),
      (s) => JSON.stringify(s) === JSON.stringify(baseSockets),
      30_000,
    );
    expect(sockets).toEqual(baseSockets);
    expect(await waitUntil('the /metrics gauges back to their baseline', () => gauges(server), (g) => g.clients === 2 && g.downStreams === 1, 30_000)).toEqual(
      baseGauges,
    );
    const left = () => Object.fromEntries((Object.keys(made) as Kind[]).map((k) => [k, made[k] - collected[k]]));
    const remaining = await waitUntil(
      'every object of the churn collected',
      async () => {
        gc();
        await sleep(200);
        return left();
      },
      (l) => Object.values(l).every((n) => n === 0),
      20_000,
    );
    const after = await memory();
    const perSession = (a: number, b: number) => Math.round(((b - a) / Math.max(1, made.Session)) * 10) / 10;
    console.log(
      `churn: ${counts.cycles} cycles (${counts.clean} clean, ${counts.abrupt} abrupt, ${counts.withVideo} with video, ${counts.failed.length} failed); ` +
        `made ${JSON.stringify(made)}; heap ${baseMemory.heapKB} -> ${after.heapKB} KB (${perSession(baseMemory.heapKB, after.heapKB)} KB/session), ` +
        `rss ${baseMemory.rssKB} -> ${after.rssKB} KB (${perSession(baseMemory.rssKB, after.rssKB)} KB/session); sockets ${JSON.stringify(sockets)}`,
    );
    expect(remaining).toEqual({ Session: 0, DownConnection: 0, RTCPeerConnection: 0, RtpDownTrack: 0 });
    expect(counts.failed).toEqual([]);
    expect(counts.abrupt).toBeGreaterThan(10);
    expect(counts.clean).toBeGreaterThan(10);
    expect(counts.withVideo).toBeGreaterThan(0);
    expect(made.Session).toBe(counts.cycles);
    expect(made.DownConnection).toBeGreaterThan(0);
    expect(made.RtpDownTrack).toBeGreaterThan(0);

    // The steady viewer got both kinds in every quarter of the churn, and gets more after it.
    for (let q = 1; q < windows.length; q++) {
      expect(windows[q]!.audio, `audio in window ${q}`).toBeGreaterThan(windows[q - 1]!.audio);
      expect(windows[q]!.video, `video in window ${q}`).toBeGreaterThan(windows[q - 1]!.video);
    }
    const last = received();
    await waitUntil('media at the steady viewer after the churn', async () => received(), (x) => x.audio > last.audio + 50 && x.video > last.video + 50, 20_000);
    expect(steady.errors).toEqual([]);
  }, 170_000);
});
