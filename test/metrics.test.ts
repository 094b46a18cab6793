import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { LECTURE_GROUP, startTestServer, type TestServer } from './helpers/testServer.js';
import { waitFor, waitUntil } from './helpers/wait.js';

const TOKEN = 'metrics-secret-token';
const auth = { Authorization: `Bearer ${TOKEN}` };

interface Exposition {
  /** family name -> TYPE */
  types: Map<string, string>;
  help: Map<string, string>;
  /** sample name with its labels, e.g. `lectern_queue_depth{name="finalize"}` -> value */
  samples: Map<string, number>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?Inf|NaN)';
const SAMPLE = new RegExp(`^(${NAME})(\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? (${VALUE})(?: -?\\d+)?$`);
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** A strict reader of the Prometheus text format (version 0.0.4); throws on any line it does not accept. */
function parseExposition(text: string): Exposition {
  const out: Exposition = { types: new Map(), help: new Map(), samples: new Map() };
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  for (const line of lines) {
    if (line === '') continue;
    let m = /^# HELP (\S+) (.*)$/.exec(line);
    if (m) {
      expect(m[1]).toMatch(new RegExp(`^${NAME}$`));
      out.help.set(m[1]!, m[2]!);
      continue;
    }
    m = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (m) {
      if (!TYPES.has(m[2]!)) throw new Error(`bad TYPE line: ${line}`);
      if (out.types.has(m[1]!)) throw new Error(`TYPE given twice: ${line}`);
      out.types.set(m[1]!, m[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const name = m[1]!;
    const family = [name, name.replace(/_(bucket|sum|count)$/, '')].find((f) => out.types.has(f));
    if (!family) throw new Error(`sample before (or without) its TYPE: ${line}`);
    const type = out.types.get(family)!;
    if (family !== name && type !== 'histogram' && type !== 'summary') throw new Error(`suffix on a ${type}: ${line}`);
    out.samples.set(`${name}${m[2] ?? ''}`, Number(m[3]));
  }
  for (const family of out.types.keys()) if (!out.help.has(family)) throw new Error(`no HELP for ${family}`);
  for (const family of out.help.keys()) if (!out.types.has(family)) throw new Error(`no TYPE for ${family}`);
  return out;
}

describe('/metrics', () => {
  let stun: LoopbackStun;
  let server: TestServer;
  let media: TestMedia;
  let teacher: MediaClient;
  let viewer: MediaClient;
  let pub: PublisherPeer;
  let stopFeeding: (() => void) | undefined;

  const scrape = async () => {
    const res = await fetch(`${server.url}/metrics`, { headers: auth });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; ?version=0\.0\.4/);
    return parseExposition(await res.text());
  };

  beforeAll(async () => {
    stun = await startLoopbackStun();
    server = await startTestServer({
      config: { metricsToken: TOKEN },
      groups: { lecture: LECTURE_GROUP },
    });
    media = await startTestMedia();
  }, 60_000);

  afterAll(async () => {
    stopFeeding?.();
    await Promise.all([teacher?.close(), viewer?.close()]);
    await pub?.close();
    await media?.close();
    await server?.stop();
    await stun?.close();
  });

  it('answers 401 without the configured bearer token, or with a wrong one', async () => {
    const none = await fetch(`${server.url}/metrics`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await none.text()).not.toMatch(/lectern_/);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.status).toBe(401);
    const basic = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString('base64')}` } });
    expect(basic.status).toBe(401);
  });

  it('is Prometheus text with HELP and TYPE for every metric, zero before any media', async () => {
    const m = await scrape();
    for (const family of [
      'lectern_groups',
      'lectern_clients',
      'lectern_up_streams',
      'lectern_down_streams',
      'lectern_forwarded_packets_total',
      'lectern_forwarded_bytes_total',
      'lectern_nacks_received_total',
      'lectern_plis_sent_total',
      'lectern_track_loss_ratio',
      'lectern_track_rtt_seconds',
      'lectern_join_duration_seconds',
      'lectern_recordings_active',
      'lectern_queue_depth',
      'lectern_jobs_total',
      'lectern_job_duration_seconds',
      'lectern_ffmpeg_failures_total',
      'lectern_dropped_datagrams_total',
    ]) {
      expect(m.types.has(family), family).toBe(true);
    }
    expect(m.types.get('lectern_forwarded_packets_total')).toBe('counter');
    expect(m.types.get('lectern_join_duration_seconds')).toBe('histogram');
    expect(m.samples.get('lectern_forwarded_packets_total')).toBe(0);
    expect(m.samples.get('lectern_clients')).toBe(0);
    expect(m.samples.get('lectern_recordings_active')).toBe(0);
  });

  it('counts clients and joins, and its forwarding counters move when a publisher is forwarded to a viewer', async () => {
    teacher = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'teacher', password: 'pw', stunPort: stun.port });
    viewer = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'student', stunPort: stun.port });
    viewer.request();
    pub = createPublisherPeer({ stunPort: stun.port });
    const offV = media.onVideo((rtp) => pub.sendVideo(rtp));
    const offA = media.onAudio((rtp) => pub.sendAudio(rtp));
    stopFeeding = () => {
      offV();
      offA();
    };
    const streamId = await teacher.publish('camera', pub);
    await pub.connected();
    await waitFor(() => (viewer.streams.get(streamId)?.viewer.audio.length ?? 0) >= 20, 20_000, 'audio at the viewer');

    const first = await scrape();
    expect(first.samples.get('lectern_groups')).toBe(1);
    expect(first.samples.get('lectern_clients')).toBe(2);
    expect(first.samples.get('lectern_up_streams')).toBe(1);
    expect(first.samples.get('lectern_down_streams')).toBe(1);
    expect(first.samples.get('lectern_join_duration_seconds_count')).toBe(2);
    const forwarded = first.samples.get('lectern_forwarded_packets_total')!;
    expect(forwarded).toBeGreaterThan(0);
    expect(first.samples.get('lectern_forwarded_bytes_total')!).toBeGreaterThan(forwarded);
    expect(first.samples.get('lectern_received_packets_total')!).toBeGreaterThan(0);
    // the packet guards let every datagram of a plain lecture through
    for (const guard of ['malformed', 'stunUnauthenticated', 'unknownSource', 'rtcp', 'dtlsFragment']) {
      expect(first.samples.get(`lectern_dropped_datagrams_total{guard="${guard}"}`), guard).toBe(0);
    }

    // still flowing: the counters go on rising between scrapes
    await waitUntil(
      'the forwarded packet counter to rise',
      async () => (await scrape()).samples.get('lectern_forwarded_packets_total')!,
      (n) => n > forwarded,
      10_000,
    );

    // once the viewer and publisher are gone, the counters keep their totals (they are counters)
    const before = (await scrape()).samples.get('lectern_forwarded_packets_total')!;
    teacher.unpublish(streamId);
    await waitUntil('the stream to end', async () => (await scrape()).samples.get('lectern_up_streams'), (n) => n === 0, 10_000);
    const after = await scrape();
    expect(after.samples.get('lectern_down_streams')).toBe(0);
    expect(after.samples.get('lectern_forwarded_packets_total')!).toBeGreaterThanOrEqual(before);
  }, 60_000);
});
