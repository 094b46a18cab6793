import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { TrackStats } from '../../forward/types.js';
import type { GroupRegistry } from '../../group/GroupRegistry.js';
import { packetGuardCounters, type PacketGuardCounts } from '../../forward/guard/packetGuards.js';
import { Session } from '../../signal/Session.js';
import type { EndpointStats } from '../../webhooks/WebhookDispatcher.js';
import type { JobStats } from './JobStats.js';
import { ForwardingTotals } from './ForwardingTotals.js';

export interface MetricsSources {
  registry: GroupRegistry;
  recorder?: { readonly activeCount: number };
  jobStats?: JobStats;
  webhooks?: { stats(): EndpointStats[] };
  /** The forwarding threads' packet guard counters, when viewers run on threads. */
  forwardPool?: { guardCounters(): Partial<PacketGuardCounts>[] };
}

/**
 * The server's Prometheus metrics, in a Registry of its own (never prom-client's global one, so that several
 * servers in one process do not collide). Gauges and the forwarding counters are read from the live objects
 * when scraped (`text()`); the join-time histogram is observed as joins complete.
 */
export class ServerMetrics {
  readonly register = new Registry();
  private readonly joinTime: Histogram;
  private readonly totals = new ForwardingTotals();

  constructor(private readonly src: MetricsSources) {
    const r = [this.register];
    const gauge = (name: string, help: string, labelNames: string[] = []) => new Gauge({ name, help, labelNames, registers: r });
    const counter = (name: string, help: string, labelNames: string[] = []) => new Counter({ name, help, labelNames, registers: r });
    this.joinTime = new Histogram({
      name: 'lectern_join_duration_seconds',
      help: 'Time from a join request to the joined reply, successful joins only',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    });
    this.gauges = {
      groups: gauge('lectern_groups', 'Live groups'),
      clients: gauge('lectern_clients', 'Clients joined to a group (system clients such as the recorder excluded)'),
      upStreams: gauge('lectern_up_streams', 'Streams being published'),
      downStreams: gauge('lectern_down_streams', 'Streams being sent to viewers (one per viewer and stream)'),
      recordings: gauge('lectern_recordings_active', 'Groups being recorded'),
      loss: gauge('lectern_track_loss_ratio', 'Packet loss of live tracks, a fraction: mean and max over tracks', ['direction', 'stat']),
      rtt: gauge('lectern_track_rtt_seconds', 'Round-trip time of live tracks: mean and max over tracks that know it', ['direction', 'stat']),
      webhookQueue: gauge('lectern_webhook_queue_depth', 'Webhook events waiting to be sent, by endpoint', ['url']),
    };
    this.counters = {
      upPackets: counter('lectern_received_packets_total', 'RTP packets received from publishers'),
      upBytes: counter('lectern_received_bytes_total', 'RTP payload bytes received from publishers'),
      downPackets: counter('lectern_forwarded_packets_total', 'RTP packets forwarded to viewers'),
      downBytes: counter('lectern_forwarded_bytes_total', 'RTP payload bytes forwarded to viewers'),
      retransmitted: counter('lectern_retransmitted_packets_total', 'Packets resent to viewers from the cache after a NACK'),
      retransmitsDeclined: counter(
        'lectern_retransmits_declined_total',
        'NACKed packets not resent because they were over the viewer\'s retransmission budget',
      ),
      nacksReceived: counter('lectern_nacks_received_total', 'NACKs received from viewers'),
      nacksSent: counter('lectern_nacks_sent_total', 'NACKs sent to publishers'),
      plisSent: counter('lectern_plis_sent_total', 'PLIs (keyframe requests) sent to publishers'),
      keyframeRequests: counter('lectern_keyframe_requests_total', 'PLIs and FIRs received from viewers'),
      webhooks: counter('lectern_webhook_events_total', 'Webhook events by endpoint and result (delivered, failed, dropped)', ['url', 'result']),
      webhookRetries: counter('lectern_webhook_retries_total', 'Webhook tries after a failed one, by endpoint', ['url']),
      dropped: counter(
        'lectern_dropped_datagrams_total',
        'Datagrams (and decrypted RTCP packets or DTLS fragments) the packet guards dropped, by guard',
        ['guard'],
      ),
    };
    for (const m of src.jobStats?.metrics() ?? []) this.register.registerMetric(m);
  }

  private readonly gauges: Record<'groups' | 'clients' | 'upStreams' | 'downStreams' | 'recordings' | 'loss' | 'rtt' | 'webhookQueue', Gauge>;
  private readonly counters: Record<
    | 'upPackets' | 'upBytes' | 'downPackets' | 'downBytes' | 'retransmitted' | 'retransmitsDeclined' | 'nacksReceived' | 'nacksSent'
    | 'plisSent' | 'keyframeRequests' | 'webhooks' | 'webhookRetries' | 'dropped',
    Counter
  >;

  get contentType(): string {
    return this.register.contentType;
  }

  observeJoin(seconds: number): void {
    this.joinTime.observe(seconds);
  }

  /** The exposition text, with every scrape-time value refreshed. */
  async text(): Promise<string> {
    this.refresh();
    return this.register.metrics();
  }

  private refresh(): void {
    const g = this.gauges;
    const groups = this.src.registry.live();
    let clients = 0;
    let upStreams = 0;
    let downStreams = 0;
    const ups = [];
    const downs = [];
    const trackStats: Record<'up' | 'down', TrackStats[]> = { up: [], down: [] };
    for (const group of groups) {
      for (const c of group.clients.values()) if (!c.permissions.includes('system')) clients++;
      for (const up of group.streams.values()) {
        upStreams++;
        ups.push(up);
        trackStats.up.push(...up.stats().tracks);
      }
      for (const c of group.clients.values()) {
        if (!(c instanceof Session)) continue;
        for (const down of c.media.downConnections()) {
          downStreams++;
          downs.push(down);
          trackStats.down.push(...down.stats().tracks);
        }
      }
    }
    g.groups.set(groups.length);
    g.clients.set(clients);
    g.upStreams.set(upStreams);
    g.downStreams.set(downStreams);
    g.recordings.set(this.src.recorder?.activeCount ?? 0);
    for (const direction of ['up', 'down'] as const) {
      const tracks = trackStats[direction];
      setSummary(g.loss, direction, tracks.map((t) => t.loss));
      setSummary(g.rtt, direction, tracks.flatMap((t) => (t.rtt === undefined ? [] : [t.rtt / 1000])));
    }

    const t = this.totals.update(ups, downs);
    const c = this.counters;
    setCounter(c.upPackets, t.up.packets);
    setCounter(c.upBytes, t.up.bytes);
    setCounter(c.nacksSent, t.up.nacksSent);
    setCounter(c.plisSent, t.up.plisSent);
    setCounter(c.downPackets, t.down.packets);
    setCounter(c.downBytes, t.down.bytes);
    setCounter(c.retransmitted, t.down.retransmitted);
    setCounter(c.retransmitsDeclined, t.down.retransmitsDeclined);
    setCounter(c.nacksReceived, t.down.nacksReceived);
    setCounter(c.keyframeRequests, t.down.keyframeRequests);

    c.dropped.reset();
    for (const counts of [packetGuardCounters, ...(this.src.forwardPool?.guardCounters() ?? [])]) {
      for (const [guard, n] of Object.entries(counts)) c.dropped.inc({ guard }, n);
    }

    g.webhookQueue.reset();
    c.webhooks.reset();
    c.webhookRetries.reset();
    for (const w of this.src.webhooks?.stats() ?? []) {
      g.webhookQueue.inc({ url: w.url }, w.queued);
      c.webhooks.inc({ url: w.url, result: 'delivered' }, w.delivered);
      c.webhooks.inc({ url: w.url, result: 'failed' }, w.failed);
      c.webhooks.inc({ url: w.url, result: 'dropped' }, w.dropped);
      c.webhookRetries.inc({ url: w.url }, w.retries);
    }
  }
}

function setCounter(c: Counter, value: number): void {
  c.reset();
  c.inc(value);
}

function setSummary(g: Gauge, direction: string, values: number[]): void {
  const finite = values.filter(Number.isFinite);
  const mean = finite.length ? finite.reduce((a, b) => a + b, 0) / finite.length : 0;
  g.set({ direction, stat: 'mean' }, mean);
  g.set({ direction, stat: 'max' }, finite.length ? Math.max(...finite) : 0);
}
