/**
 * A viewer process for bench/fanout.ts, started with child_process.fork (node --import tsx): hosts a share
 * of the viewers, each with its own WebSocket and PeerConnection, and answers the driver's commands over IPC
 * (see fanoutProtocol.ts). Has its own loopback STUN responder. Exits when the driver goes away.
 */
import { installDtlsKeyCache } from '../src/forward/dtlsKeyCache.js';
import { installNativeX25519 } from '../src/forward/nativeX25519.js';
import { startLoopbackStun, type LoopbackStun } from '../test/helpers/loopbackStun.js';
import type { CountCommand, Counts, InitCommand, WorkerCommand, WorkerReply } from './fanoutProtocol.js';
import { LeanViewer } from './leanViewer.js';
import { JanusViewer } from './janusViewer.js';
import { StockViewer, type BenchViewer } from './stockViewer.js';


if (!process.send) {
  console.error('viewerWorker: must be started by bench/fanout.ts (fork with an IPC channel)');
  process.exit(2);
}

let init: InitCommand | undefined;
let stun: LoopbackStun | undefined;
const viewers: BenchViewer[] = [];
const byIndex = new Map<number, BenchViewer>();

function reply(r: WorkerReply): void {
  process.send?.(r);
}

function count(c: CountCommand): Counts {
  const out: Counts = {
    viewers: viewers.length,
    joined: 0,
    connected: 0,
    videoInRange: 0,
    audioInRange: 0,
    videoHits: c.video ? new Array<number>((c.video[1] - c.video[0]) & 0xffff).fill(0) : [],
    audioHits: c.audio ? new Array<number>((c.audio[1] - c.audio[0]) & 0xffff).fill(0) : [],
    viewersWithoutVideo: 0,
    packets: 0,
    duplicates: 0,
    at: performance.timeOrigin + performance.now(),
  };
  for (const v of viewers) {
    if (v.connected) out.connected++;
    out.packets += v.video.packets + v.audio.packets;
    out.duplicates += v.video.duplicates + v.audio.duplicates;
    if (!v.timing.ok) continue;
    out.joined++;
    if (c.window && v instanceof JanusViewer) {
      const [t0, t1] = c.window;
      const video = v.videoArrivals.window(t0, t1);
      const audio = v.audioArrivals.window(t0, t1);
      out.videoInRange += video.received;
      out.audioInRange += audio.received;
      out.videoExpected = (out.videoExpected ?? 0) + video.expected;
      out.audioExpected = (out.audioExpected ?? 0) + audio.expected;
      if (video.received === 0) out.viewersWithoutVideo++;
      continue;
    }
    if (c.video) {
      const n = v.video.countRange(c.video[0], c.video[1], out.videoHits);
      out.videoInRange += n;
      if (n === 0) out.viewersWithoutVideo++;
    }
    if (c.audio) out.audioInRange += v.audio.countRange(c.audio[0], c.audio[1], out.audioHits);
  }
  return out;
}

/** The viewer with this index (created by an earlier 'open', or now). */
function viewer(index: number): BenchViewer {
  let v = byIndex.get(index);
  if (!v) {
    if (!init || !stun) throw new Error('viewer before init');
    v = init.janus
      ? new JanusViewer({ url: init.janus.url, mountpoint: init.janus.mountpoint, index })
      : init.viewer === 'stock'
        ? new StockViewer({ url: init.url, group: init.group, index })
        : new LeanViewer({ url: init.url, group: init.group, index, stunPort: stun.port, mode: init.mode });
    byIndex.set(index, v);
    viewers.push(v);
  }
  return v;
}

async function handle(c: WorkerCommand): Promise<void> {
  switch (c.cmd) {
    case 'init':
      init = c;
      if (c.viewer !== 'stock') {
        // Lean viewers' DTLS handshakes in native X25519, and their certificate parsed once, as the server's
        // (browsers' are native too). Stock viewers get none of Lectern's werift patches.
        installNativeX25519();
        installDtlsKeyCache();
      }
      stun ??= await startLoopbackStun();
      reply({ seq: c.seq, type: 'ok' });
      return;
    case 'open': {
      if (!init || !stun) throw new Error('open before init');
      await Promise.all(c.indices.map((index) => viewer(index).open()));
      reply({ seq: c.seq, type: 'ok' });
      return;
    }
    case 'join': {
      if (!init) throw new Error('join before init');
      const { joinTimeoutMs } = init;
      const batch = c.indices.map((index) => viewer(index).run(joinTimeoutMs));
      reply({ seq: c.seq, type: 'joined', timings: await Promise.all(batch) });
      return;
    }
    case 'count':
      reply({ seq: c.seq, type: 'count', counts: count(c) });
      return;
    case 'stop':
      await Promise.race([
        Promise.all(viewers.map((v) => v.close())),
        new Promise((r) => setTimeout(r, 3000)),
      ]);
      reply({ seq: c.seq, type: 'ok' });
      process.exit(0);
  }
}

process.on('message', (m: WorkerCommand) => {
  handle(m).catch((err: unknown) => reply({ seq: m.seq, type: 'error', error: err instanceof Error ? err.message : String(err) }));
});
// The driver died or let go: nothing else should keep this process alive.
process.on('disconnect', () => process.exit(0));
