/**
 * A forwarding thread: runs the DownConnections of the viewers the main thread assigns to it. Each up track
 * they watch is mirrored here by an RtpUpTrack fed with the publisher's packets (sent once per thread by
 * the main thread), so that fan-out, SRTP, NACK answers from the cache, keyframe replay and layer choice all
 * run on this thread's core. What must reach the publisher (keyframe requests, NACKs for packets this copy
 * lacks, the viewers' best bitrate for the uplink REMB) goes back to the main thread.
 */
import { EventEmitter } from 'node:events';
import { parentPort, workerData } from 'node:worker_threads';
import { RtpPacket } from 'werift';
import { errorMessage, LecternError } from '../../errors.js';
import { RtpUpTrack } from '../../ingest/RtpUpTrack.js';
import { createLogger } from '../../log.js';
import { DownConnection } from '../DownConnection.js';
import type { UpSource } from '../types.js';
import { packetGuardCounters } from '../guard/packetGuards.js';
import { installWeriftFixes } from '../weriftFixes.js';
import type { Call, FromWorker, Notice, ToWorker, TrackMeta, WorkerConfig } from './protocol.js';

const REPORT_INTERVAL_MS = 1000;

const port = parentPort;
if (!port) throw new Error('forwardWorker.ts runs as a worker thread');
const config = workerData as WorkerConfig;
const log = createLogger(config.logLevel).child({ forwardThread: config.index });
installWeriftFixes();

const post = (m: FromWorker): void => port.postMessage(m);

/** The main thread's up connection, as seen here: mirrored tracks in the main thread's order. */
class MirrorUp extends EventEmitter<{ track: []; close: [] }> implements UpSource {
  closed = false;
  private readonly list: RtpUpTrack[] = [];

  constructor(readonly id: string) {
    super();
  }

  tracks(): RtpUpTrack[] {
    return [...this.list];
  }

  /** Mirrors tracks not seen before. */
  sync(metas: TrackMeta[]): void {
    const known = new Set(this.list.map((t) => t.id));
    for (const m of metas) {
      if (known.has(m.id)) continue;
      const track = new RtpUpTrack({
        ...m,
        // What this copy would ask of the publisher goes to the main thread's track, which throttles and
        // deduplicates (its own NACKs for the same gaps went out first).
        feedback: {
          sendNack: (_ssrc, seqs) => post({ op: 'nack', track: m.id, seqs }),
          sendPli: () => post({ op: 'keyframe', track: m.id }),
        },
        onFirstPacket: () => this.emit('track'),
      });
      this.list.push(track);
      tracks.set(m.id, track);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.emit('close');
    for (const t of this.list) {
      t.close();
      tracks.delete(t.id);
    }
    ups.delete(this.id);
  }
}

const ups = new Map<string, MirrorUp>();
const tracks = new Map<string, RtpUpTrack>();
const downs = new Map<number, DownConnection>();

function mirror(upId: string): MirrorUp {
  let up = ups.get(upId);
  if (!up) {
    up = new MirrorUp(upId);
    ups.set(upId, up);
  }
  return up;
}

async function answer(m: Call): Promise<unknown> {
  if (m.op === 'create') {
    const up = mirror(m.up);
    const down = new DownConnection(up, { id: m.id, clientId: m.clientId, request: m.request, ice: config.ice, log });
    downs.set(m.down, down);
    down.on('close', (reason) => {
      downs.delete(m.down);
      post({ op: 'closed', down: m.down, reason });
    });
    down.on('failed', () => post({ op: 'event', down: m.down, event: 'failed' }));
    down.on('negotiationneeded', () => post({ op: 'event', down: m.down, event: 'negotiationneeded' }));
    return undefined;
  }
  const down = downs.get(m.down);
  if (!down) throw new LecternError('closed', 'the down stream is closed');
  switch (m.op) {
    case 'offer':
      return down.createOffer({ iceRestart: m.iceRestart });
    case 'answer':
      return down.setAnswer(m.sdp);
    case 'ice':
      return down.addIceCandidate(m.candidate as Parameters<DownConnection['addIceCandidate']>[0]);
  }
}

function onNotice(m: Notice): void {
  switch (m.op) {
    case 'rtp': {
      let offset = 0;
      for (let i = 0; i < m.lengths.length; i++) {
        const length = m.lengths[i]!;
        const track = tracks.get(m.tracks[i]!);
        if (track) track.push(RtpPacket.deSerialize(Buffer.from(m.data, offset, length)));
        offset += length;
      }
      return;
    }
    case 'tracks':
      mirror(m.up).sync(m.tracks);
      return;
    case 'clock':
      tracks.get(m.track)?.setSenderClock(m.clock);
      return;
    case 'drop-up':
      ups.get(m.up)?.close();
      return;
    case 'request':
      downs.get(m.down)?.setRequest(m.request);
      return;
    case 'close':
      downs.get(m.down)?.close(m.reason);
      return;
  }
}

port.on('message', (m: ToWorker) => {
  if ('call' in m) {
    answer(m).then(
      (value) => post({ op: 'reply', call: m.call, value }),
      (err: unknown) =>
        post({
          op: 'reply',
          call: m.call,
          error: { code: err instanceof LecternError ? err.code : 'internal', message: errorMessage(err) },
        }),
    );
    return;
  }
  try {
    onNotice(m);
  } catch (err) {
    log.warn({ err, op: m.op }, 'forwarding thread: message failed');
  }
});

setInterval(() => {
  post({
    op: 'report',
    downs: [...downs].map(([down, d]) => ({ down, stats: d.stats(), counters: d.counters() })),
    limits: [...tracks].map(([track, t]) => ({ track, maxBitrate: t.downstreamMaxBitrate() })),
    guards: { ...packetGuardCounters },
  });
}, REPORT_INTERVAL_MS).unref();
