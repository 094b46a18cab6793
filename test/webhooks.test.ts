import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../src/log.js';
import { EventBus, type LecternEvent } from '../src/webhooks/events.js';
import { WebhookDispatcher } from '../src/webhooks/WebhookDispatcher.js';
import { startLoopbackStun, type LoopbackStun } from './helpers/loopbackStun.js';
import { MediaClient } from './helpers/MediaClient.js';
import { createPublisherPeer, startTestMedia, type PublisherPeer, type TestMedia } from './helpers/mediaSource.js';
import { startTestServer, type TestServer } from './helpers/testServer.js';
import { waitFor } from './helpers/wait.js';

interface Received {
  headers: http.IncomingHttpHeaders;
  raw: string;
  event: LecternEvent;
}

/** A webhook receiver on 127.0.0.1: `status` answers every request, or `hang` never answers. */
async function startReceiver(reply: { status: number } | 'hang') {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      received.push({ headers: req.headers, raw, event: JSON.parse(raw) as LecternEvent });
      if (reply !== 'hang') res.writeHead(reply.status).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    received,
    types: () => received.map((r) => r.event.type),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

const sign = (secret: string, raw: string) => `sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`;

describe('webhooks', () => {
  let stun: LoopbackStun;
  let server: TestServer;
  let media: TestMedia;
  let good: Receiver;
  let failing: Receiver;
  let hanging: Receiver;
  let teacher: MediaClient | undefined;
  let pub: PublisherPeer | undefined;
  let stopFeeding: (() => void) | undefined;

  beforeAll(async () => {
    [good, failing, hanging] = await Promise.all([startReceiver({ status: 204 }), startReceiver({ status: 500 }), startReceiver('hang')]);
    stun = await startLoopbackStun();
    server = await startTestServer({
      config: {
        webhooks: [
          { url: good.url, secret: 'good-secret' },
          { url: failing.url, secret: 'failing-secret', events: ['lecture_started'], attempts: 3, backoffMs: 20 },
          { url: hanging.url, secret: 'hanging-secret', timeoutMs: 60_000 },
        ],
      },
      groups: {
        lecture: { 'allow-recording': true, users: { teacher: { password: 'pw', permissions: 'op' } } },
      },
    });
    media = await startTestMedia();
  }, 60_000);

  afterAll(async () => {
    stopFeeding?.();
    await teacher?.close();
    await pub?.close();
    await media?.close();
    await server?.stop();
    await stun?.close();
    await Promise.all([good?.close(), failing?.close(), hanging?.close()]);
  });

  it('a lecture with a recording sends every event, signed, while another receiver never answers', async () => {
    teacher = await MediaClient.join({ url: server.wsUrl, group: 'lecture', username: 'teacher', password: 'pw', stunPort: stun.port });
    const t = teacher;
    await waitFor(() => good.types().includes('participant_joined'), 30_000, 'participant_joined');
    // the hanging receiver holds its first request forever; the server goes on regardless
    await waitFor(() => hanging.received.length === 1, 30_000, 'the hanging receiver to be called');

    pub = createPublisherPeer({ stunPort: stun.port });
    const p = pub;
    const offV = media.onVideo((rtp) => p.sendVideo(rtp));
    const offA = media.onAudio((rtp) => p.sendAudio(rtp));
    stopFeeding = () => {
      offV();
      offA();
    };
    const streamId = await t.publish('camera', p);
    await p.connected();
    await waitFor(() => good.types().includes('track_published'), 30_000, 'track_published');

    const recorderIn = t.ws.next((m) => m.type === 'user' && m.kind === 'add' && m.username === 'RECORDING');
    t.ws.send({ type: 'groupaction', kind: 'record', source: t.id, username: 'teacher' });
    await recorderIn;
    await waitFor(() => good.types().includes('recording_started'), 30_000, 'recording_started');
    await new Promise((r) => setTimeout(r, 2500)); // some media in the file (ffmpeg's test source has a keyframe every 2 s)
    const recorderOut = t.ws.next((m) => m.type === 'user' && m.kind === 'delete' && m.username === 'RECORDING');
    t.ws.send({ type: 'groupaction', kind: 'unrecord', source: t.id, username: 'teacher' });
    await recorderOut;
    await waitFor(() => good.types().includes('recording_finished'), 30_000, 'recording_finished');

    t.unpublish(streamId);
    await waitFor(() => good.types().includes('lecture_ended'), 30_000, 'lecture_ended');
    stopFeeding();
    await t.close();
    teacher = undefined;
    await waitFor(() => good.types().includes('participant_left'), 30_000, 'participant_left');
    await waitFor(
      () => good.types().includes('job_completed') || good.types().includes('job_failed'),
      60_000,
      'a job event',
    );

    const types: string[] = good.types();
    const order = ['participant_joined', 'lecture_started', 'track_published', 'recording_started', 'recording_finished', 'track_unpublished', 'lecture_ended', 'participant_left'];
    expect(order.map((type) => types.indexOf(type))).toEqual(order.map((type) => types.indexOf(type)).sort((a, b) => a - b));
    for (const type of order) expect(types.filter((x) => x === type), type).toHaveLength(1);

    for (const r of good.received) {
      expect(r.headers['x-lectern-signature']).toBe(sign('good-secret', r.raw));
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['x-lectern-event']).toBe(r.event.type);
      expect(r.event.id).toMatch(/^[0-9a-f-]{36}$/);
      expect(Number.isNaN(Date.parse(r.event.time))).toBe(false);
      expect(typeof r.event.details).toBe('object');
      if (!r.event.type.startsWith('job_')) expect(r.event.group).toBe('lecture');
    }
    const byType = (type: string) => good.received.find((r) => r.event.type === type)!.event;
    expect(byType('participant_joined').details).toMatchObject({ id: t.id, username: 'teacher' });
    expect(byType('track_published').details).toMatchObject({ stream: streamId, label: 'camera', username: 'teacher' });
    // the recorder's pseudo-user is not a participant
    expect(good.received.filter((r) => r.event.type === 'participant_joined').map((r) => r.event.details.username)).toEqual(['teacher']);
    // with a wrong secret the signature would not match
    expect(good.received[0]!.headers['x-lectern-signature']).not.toBe(sign('failing-secret', good.received[0]!.raw));
    // the hanging receiver is still on its first event
    expect(hanging.received).toHaveLength(1);
  }, 120_000);

  it('a receiver that answers 500 gets the event again with backoff, as many times as configured', async () => {
    await waitFor(() => failing.received.length >= 3, 30_000, 'three tries');
    await new Promise((r) => setTimeout(r, 300)); // no fourth try comes
    expect(failing.received).toHaveLength(3);
    const ids = new Set(failing.received.map((r) => r.event.id));
    expect(ids.size).toBe(1);
    expect(failing.received[0]!.event.type).toBe('lecture_started');
    for (const r of failing.received) expect(r.headers['x-lectern-signature']).toBe(sign('failing-secret', r.raw));
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    expect(metrics).toContain(`lectern_webhook_retries_total{url="${failing.url}"} 2`);
    expect(metrics).toContain(`lectern_webhook_events_total{url="${failing.url}",result="failed"} 1`);
  });
});

describe('a webhook endpoint queue', () => {
  it('is bounded: the oldest waiting events are dropped and counted, and close() ends a delivery in flight', async () => {
    const hanging = await startReceiver('hang');
    const bus = new EventBus();
    const dispatcher = new WebhookDispatcher(bus, {
      endpoints: () => [{ url: hanging.url, secret: 's', timeoutMs: 60_000 }],
      log: silentLogger,
      maxQueue: 2,
    });
    try {
      for (let i = 0; i < 6; i++) bus.emit('participant_joined', 'g', { n: i });
      await waitFor(() => hanging.received.length === 1, 30_000, 'the first delivery');
      // one in flight, two waiting, three dropped (the oldest waiting ones: 1, 2, 3)
      expect(dispatcher.stats()).toEqual([{ url: hanging.url, queued: 2, delivered: 0, failed: 0, retries: 0, dropped: 3 }]);
      expect(hanging.received[0]!.event.details).toEqual({ n: 0 });
    } finally {
      await dispatcher.close();
      await hanging.close();
    }
    bus.emit('participant_joined', 'g', {}); // after close: ignored
    expect(dispatcher.stats()[0]!.queued).toBe(0);
  });
});
