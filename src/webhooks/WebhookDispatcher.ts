import type { WebhookConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { EventBus, LecternEvent } from './events.js';
import { WebhookEndpoint, type EndpointCounters } from './WebhookEndpoint.js';

export interface WebhookDispatcherOptions {
  /** The configured endpoints, read on each event (config.json is hot-reloaded). */
  endpoints(): readonly WebhookConfig[];
  log: Logger;
  /** Events queued per endpoint before the oldest are dropped (default 1000). */
  maxQueue?: number;
}

export interface EndpointStats extends EndpointCounters {
  url: string;
  queued: number;
}

/**
 * Sends the server's events to the webhooks of config.json. Listening on the bus costs the emitter one
 * filter and one array push per endpoint; delivery (signing, POST, retries) happens later, per endpoint.
 */
export class WebhookDispatcher {
  private readonly endpoints = new Map<string, WebhookEndpoint>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    bus: EventBus,
    private readonly opts: WebhookDispatcherOptions,
  ) {
    this.unsubscribe = bus.on((e) => this.dispatch(e));
  }

  stats(): EndpointStats[] {
    return [...this.endpoints.values()].map((e) => ({ url: e.config.url, queued: e.queued, ...e.counters }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    await Promise.all([...this.endpoints.values()].map((e) => e.close()));
  }

  private dispatch(event: LecternEvent): void {
    if (this.closed) return;
    for (const config of this.opts.endpoints()) {
      if (config.events && !config.events.includes(event.type)) continue;
      this.endpoint(config).enqueue(event);
    }
  }

  private endpoint(config: WebhookConfig): WebhookEndpoint {
    const key = JSON.stringify([config.url, config.secret, config.attempts, config.backoffMs, config.timeoutMs]);
    let ep = this.endpoints.get(key);
    if (!ep) {
      ep = new WebhookEndpoint(config, this.opts.maxQueue ?? 1000, this.opts.log.child({ webhook: config.url }));
      this.endpoints.set(key, ep);
    }
    return ep;
  }
}
