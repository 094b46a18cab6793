import type { WebhookConfig } from '../config/types.js';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import type { LecternEvent } from './events.js';
import { SIGNATURE_HEADER, signBody } from './signature.js';

export const DEFAULT_ATTEMPTS = 5;
export const DEFAULT_BACKOFF_MS = 1000;
export const DEFAULT_TIMEOUT_MS = 5000;

export interface EndpointCounters {
  /** Events the receiver accepted (2xx). */
  delivered: number;
  /** Events given up on after every try failed. */
  failed: number;
  /** Tries after the first (each failed try that is retried). */
  retries: number;
  /** Events dropped unsent because the queue was full (the oldest go first). */
  dropped: number;
}

/**
 * One webhook receiver: a bounded FIFO of events delivered one at a time, in order. Each try is a POST with
 * a timeout; a non-2xx answer or a network error is retried with exponential backoff. Nothing here ever
 * blocks the caller of `enqueue`. `close()` aborts the try in flight and the backoff wait.
 */
export class WebhookEndpoint {
  readonly counters: EndpointCounters = { delivered: 0, failed: 0, retries: 0, dropped: 0 };
  private readonly queue: LecternEvent[] = [];
  private readonly abort = new AbortController();
  private pumping: Promise<void> | undefined;
  private wait: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  constructor(
    readonly config: WebhookConfig,
    private readonly maxQueue: number,
    private readonly log: Logger,
  ) {}

  get queued(): number {
    return this.queue.length;
  }

  enqueue(event: LecternEvent): void {
    if (this.abort.signal.aborted) return;
    this.queue.push(event);
    while (this.queue.length > this.maxQueue) {
      this.queue.shift();
      this.counters.dropped++;
    }
    this.pumping ??= this.pump().finally(() => (this.pumping = undefined));
  }

  async close(): Promise<void> {
    this.abort.abort();
    if (this.wait) {
      clearTimeout(this.wait.timer);
      this.wait.resolve();
    }
    this.queue.length = 0;
    await this.pumping;
  }

  private async pump(): Promise<void> {
    const attempts = this.config.attempts ?? DEFAULT_ATTEMPTS;
    const backoffMs = this.config.backoffMs ?? DEFAULT_BACKOFF_MS;
    for (let event = this.queue.shift(); event && !this.abort.signal.aborted; event = this.queue.shift()) {
      const body = JSON.stringify(event);
      for (let attempt = 1; ; attempt++) {
        const error = await this.post(event, body);
        if (error === undefined) {
          this.counters.delivered++;
          break;
        }
        if (this.abort.signal.aborted) break;
        if (attempt >= attempts) {
          this.counters.failed++;
          this.log.warn({ url: this.config.url, event: event.id, type: event.type, attempts, error }, 'webhook not delivered');
          break;
        }
        this.counters.retries++;
        await this.sleep(backoffMs * 2 ** (attempt - 1));
      }
    }
  }

  /** One try; resolves to undefined on success, else to why it failed. */
  private async post(event: LecternEvent, body: string): Promise<string | undefined> {
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        body,
        redirect: 'manual',
        headers: {
          'Content-Type': 'application/json',
          'User-Agent': 'Lectern-Webhooks',
          'X-Lectern-Event': event.type,
          'X-Lectern-Delivery': event.id,
          [SIGNATURE_HEADER]: signBody(this.config.secret, body),
        },
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.config.timeoutMs ?? DEFAULT_TIMEOUT_MS)]),
      });
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300 ? undefined : `HTTP ${res.status}`;
    } catch (err) {
      return errorMessage(err);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.wait = undefined;
        resolve();
      }, ms);
      this.wait = { timer, resolve };
    });
  }
}
