/**
 * The server side of live HLS: when a group with `hls` on goes live (`lecture_started`), enqueue one
 * live-hls job for it, with a stateful token minted for that job (username `hls`, only the `system`
 * permission, which grants nothing but hides it like the recorder; 12 h expiry; deleted when the job ends). A token rather than a shared server secret: the worker
 * may run on another machine, it can only watch that one group, it shows in the admin token list,
 * and it is revoked by deleting it.
 *
 * The job ends itself once no media arrived for a while (the lecture ended and did not resume); the
 * controller then forgets it, and if the group is live again by then, enqueues a new one.
 */
import { errorMessage } from '../../errors.js';
import type { GroupRegistry } from '../../group/GroupRegistry.js';
import type { TokenStore } from '../../group/tokens/TokenStore.js';
import type { Logger } from '../../log.js';
import type { EventBus } from '../../webhooks/events.js';
import type { JobQueue } from '../queue/index.js';
import { LIVE_HLS_JOB, liveDir, type LiveHlsData } from './types.js';

export interface LiveHlsControllerOptions {
  queue: JobQueue;
  events: EventBus;
  registry: Pick<GroupRegistry, 'get'>;
  tokens: Pick<TokenStore, 'create' | 'delete'>;
  /** The base URL workers reach this server at (proxyURL, else the listening URL). */
  baseUrl: () => string;
  log: Logger;
}

const TOKEN_LIFETIME_MS = 12 * 3600 * 1000;

export class LiveHlsController {
  private readonly active = new Map<string, { jobId?: string; token: string }>();
  private readonly offEvents: () => void;
  private readonly offJobs: () => void;
  private closed = false;

  constructor(private readonly opts: LiveHlsControllerOptions) {
    this.offEvents = opts.events.on((e) => {
      if (e.type === 'lecture_started' && e.group !== undefined) void this.start(e.group);
    });
    this.offJobs = opts.queue.onEvent((e) => {
      if (e.type !== 'completed' && e.type !== 'failed') return;
      for (const [group, a] of this.active) {
        if (a.jobId !== e.id) continue;
        this.finish(group);
        if (e.type === 'failed') opts.log.warn({ group, reason: e.reason }, 'live HLS job failed');
        if ((opts.registry.get(group)?.streams.size ?? 0) > 0) void this.start(group);
      }
    });
  }

  /** The group whose live job is running, if any (tests, status). */
  jobOf(group: string): string | undefined {
    return this.active.get(group)?.jobId;
  }

  private async start(group: string): Promise<void> {
    if (this.closed || this.active.has(group)) return;
    const desc = this.opts.registry.get(group)?.description;
    if (!desc?.hls) return;
    let token: string;
    try {
      token = this.opts.tokens.create({
        group,
        username: 'hls',
        permissions: ['system'],
        expires: new Date(Date.now() + TOKEN_LIFETIME_MS).toISOString(),
        issuedBy: 'lectern live-hls',
      }).token;
    } catch (err) {
      this.opts.log.error({ group, err: errorMessage(err) }, 'cannot mint the live HLS token');
      return;
    }
    const entry: { jobId?: string; token: string } = { token };
    this.active.set(group, entry);
    const base = this.opts.baseUrl().replace(/\/+$/, '');
    const data: LiveHlsData = {
      group,
      whepUrl: `${base}/group/${group.split('/').map(encodeURIComponent).join('/')}/.whep`,
      token,
      dir: liveDir(group),
    };
    try {
      entry.jobId = await this.opts.queue.add(LIVE_HLS_JOB, data, { attempts: 1 });
      this.opts.log.info({ group, job: entry.jobId }, 'live HLS job enqueued');
    } catch (err) {
      this.opts.log.error({ group, err: errorMessage(err) }, 'cannot enqueue the live HLS job');
      this.finish(group);
    }
  }

  private finish(group: string): void {
    const a = this.active.get(group);
    if (!a) return;
    this.active.delete(group);
    try {
      this.opts.tokens.delete(a.token);
    } catch {
      // the token file may be gone at shutdown; the token expires anyway
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.offEvents();
    this.offJobs();
    for (const g of [...this.active.keys()]) this.finish(g);
  }
}
