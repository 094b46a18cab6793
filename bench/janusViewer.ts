/**
 * A stock werift viewer (bench/stockViewer.ts: werift's defaults, ICE on 127.0.0.1, no STUN) of a Janus
 * streaming mountpoint, over Janus's HTTP API: create a session, attach janus.plugin.streaming, `watch` the
 * mountpoint, answer Janus's offer with `start`; events come by long polling the session.
 *
 * Janus rewrites each viewer's sequence numbers (they start at 1 for every viewer), so the publisher's numbers
 * cannot name a window here: this viewer also notes when each packet arrived, and loss in a time window is
 * counted from the sequence-number gaps between the first and last packet of the window.
 */
import { RTCPeerConnection } from 'werift';
import type { JoinTiming } from './fanoutProtocol.js';
import { whenGathered } from '../test/helpers/mediaSource.js';
import { StockCounter, STOCK_PEER_CONFIG, type BenchViewer } from './stockViewer.js';

interface JanusMsg {
  janus: string;
  transaction?: string;
  data?: { id?: number };
  plugindata?: { data?: Record<string, unknown> };
  jsep?: { type: string; sdp: string };
  error?: { code: number; reason: string };
  [k: string]: unknown;
}

/** Arrival times (epoch ms) of every packet of one kind, by the sequence number it came with. */
export class Arrivals {
  private seqs = new Uint16Array(4096);
  private at = new Float64Array(4096);
  length = 0;

  record(seq: number, at: number): void {
    if (this.length === this.seqs.length) {
      const s = new Uint16Array(this.length * 2);
      s.set(this.seqs);
      this.seqs = s;
      const a = new Float64Array(this.length * 2);
      a.set(this.at);
      this.at = a;
    }
    this.seqs[this.length] = seq;
    this.at[this.length++] = at;
  }

  /** Packets that arrived in [t0, t1): distinct sequence numbers and the span first..last (unwrapped), i.e. what was sent. */
  window(t0: number, t1: number): { received: number; expected: number; duplicates: number } {
    const seen = new Set<number>();
    let base: number | undefined;
    let lo = Infinity;
    let hi = -Infinity;
    let duplicates = 0;
    for (let i = 0; i < this.length; i++) {
      const t = this.at[i]!;
      if (t < t0 || t >= t1) continue;
      const s = this.seqs[i]!;
      base ??= s;
      const d = ((s - base + 32768) & 0xffff) - 32768; // signed distance from the first one
      if (seen.has(d)) duplicates++;
      else seen.add(d);
      lo = Math.min(lo, d);
      hi = Math.max(hi, d);
    }
    return { received: seen.size, expected: seen.size ? hi - lo + 1 : 0, duplicates };
  }
}

export interface JanusViewerOptions {
  url: string;
  mountpoint: number;
  index: number;
}

export class JanusViewer implements BenchViewer {
  readonly timing: JoinTiming;
  readonly videoArrivals = new Arrivals();
  readonly audioArrivals = new Arrivals();
  private readonly counter = new StockCounter();
  private session: string | undefined;
  private handle: string | undefined;
  private pc: RTCPeerConnection | undefined;
  private t0 = 0;
  private tx = 0;
  private closed = false;
  private settle: ((err?: Error) => void) | undefined;

  constructor(private readonly opts: JanusViewerOptions) {
    this.timing = { index: opts.index, ok: false };
    this.counter.onFirstVideo = () => {
      this.timing.firstVideoMs ??= this.since();
      this.settle?.();
    };
    this.counter.onPacket = (kind, seq) => (kind === 'video' ? this.videoArrivals : this.audioArrivals).record(seq, performance.timeOrigin + performance.now());
  }

  get video() {
    return this.counter.video;
  }

  get audio() {
    return this.counter.audio;
  }

  get connected(): boolean {
    return this.pc?.connectionState === 'connected';
  }

  async open(): Promise<void> {
    // Nothing to open ahead: Janus's session is created by the join itself, as a Janus client does.
  }

  private since(): number {
    return Math.round((performance.now() - this.t0) * 10) / 10;
  }

  private async post(pathTail: string, body: Record<string, unknown>): Promise<JanusMsg> {
    const r = await fetch(`${this.opts.url}${pathTail}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, transaction: `t${++this.tx}` }),
    });
    const m = (await r.json()) as JanusMsg;
    if (m.janus === 'error') throw new Error(`janus: ${m.error?.reason ?? 'error'}`);
    return m;
  }

  /** Long-polls the session's events until closed. */
  private async poll(): Promise<void> {
    while (!this.closed && this.session) {
      let events: JanusMsg[];
      try {
        const r = await fetch(`${this.opts.url}/${this.session}?maxev=10&rid=${Date.now()}`);
        const got = (await r.json()) as JanusMsg | JanusMsg[];
        events = Array.isArray(got) ? got : [got];
      } catch (err) {
        if (!this.closed) this.settle?.(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      for (const e of events) this.onEvent(e);
    }
  }

  private onEvent(e: JanusMsg): void {
    if (e.janus === 'event' && e.jsep?.type === 'offer') {
      this.onOffer(e.jsep.sdp).catch((err: unknown) => this.settle?.(err instanceof Error ? err : new Error(String(err))));
    } else if (e.janus === 'event' && e.plugindata?.data?.error) {
      this.settle?.(new Error(`streaming plugin: ${String(e.plugindata.data.error)}`));
    } else if (e.janus === 'hangup') {
      this.settle?.(new Error(`janus hung up: ${String(e.reason)}`));
    }
  }

  private async onOffer(sdp: string): Promise<void> {
    this.timing.offerMs ??= this.since();
    const pc = new RTCPeerConnection(STOCK_PEER_CONFIG);
    this.pc = pc;
    this.counter.watch(pc);
    pc.connectionStateChange.subscribe((s) => {
      if (s === 'connected') this.timing.connectedMs ??= this.since();
      else if (s === 'failed') this.settle?.(new Error(`connection failed at ${this.since()} ms`));
    });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription(await pc.createAnswer());
    await whenGathered(pc);
    if (this.closed) return;
    await this.post(`/${this.session}/${this.handle}`, {
      janus: 'message',
      body: { request: 'start' },
      jsep: { type: 'answer', sdp: pc.localDescription!.sdp },
    });
    this.timing.answerSentMs ??= this.since();
  }

  async run(timeoutMs: number): Promise<JoinTiming> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = (err) => {
        this.settle = undefined;
        if (err) reject(err);
        else resolve();
      };
    });
    const timer = setTimeout(() => this.settle?.(new Error(`no video after ${timeoutMs} ms (${this.pc?.connectionState ?? 'no pc'})`)), timeoutMs);
    try {
      this.t0 = performance.now();
      this.timing.joinSentAt = performance.timeOrigin + this.t0;
      this.session = String((await this.post('', { janus: 'create' })).data?.id);
      this.handle = String((await this.post(`/${this.session}`, { janus: 'attach', plugin: 'janus.plugin.streaming' })).data?.id);
      this.timing.joinedMs = this.since();
      void this.poll();
      await this.post(`/${this.session}/${this.handle}`, { janus: 'message', body: { request: 'watch', id: this.opts.mountpoint } });
      await done;
      this.timing.ok = true;
    } catch (err) {
      this.timing.ok = false;
      this.timing.error = err instanceof Error ? err.message : String(err);
      await this.close();
    } finally {
      clearTimeout(timer);
    }
    return this.timing;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.settle?.(new Error('closed'));
    if (this.session) await this.post(`/${this.session}`, { janus: 'destroy' }).catch(() => undefined);
    await this.pc?.close().catch(() => undefined);
  }
}
