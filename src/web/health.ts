import fs from 'node:fs';
import { Redis } from 'ioredis';
import { errorMessage } from '../errors.js';

/**
 * `/healthz` (liveness: the process answers) and `/readyz` (readiness: it can do its work). Readiness checks
 * the job queue, Redis when `--redis` is used (a fresh PING, bounded by a second), and that the recordings
 * folder is writable; any failed check gives 503 with the reason.
 */
export interface HealthDeps {
  /** The job queue's backend, and whether the server is shutting down (then it takes no new jobs). */
  queue(): { kind: 'in-process' | 'redis'; state: 'running' | 'closing' };
  redis?: string | undefined;
  recordingsDir: string;
}

export interface Readiness {
  ready: boolean;
  queue: { kind: string; state: string };
  redis?: { reachable: boolean; error?: string };
  recordings: { writable: boolean; error?: string };
  reasons: string[];
}

const PROBE_MS = 1000;

async function pingRedis(url: string): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_MS,
    commandTimeout: PROBE_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  let cause: unknown; // ioredis's rejection says only "Connection is closed"; its error event says why
  client.on('error', (err) => (cause ??= err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    throw cause ?? err;
  } finally {
    client.disconnect();
  }
}

export async function readiness(deps: HealthDeps): Promise<Readiness> {
  const reasons: string[] = [];
  const queue = deps.queue();
  if (queue.state !== 'running') reasons.push(`the job queue is ${queue.state}`);
  const out: Readiness = { ready: false, queue, recordings: { writable: true }, reasons };
  if (deps.redis) {
    try {
      await pingRedis(deps.redis);
      out.redis = { reachable: true };
    } catch (err) {
      out.redis = { reachable: false, error: errorMessage(err) };
      reasons.push(`Redis is unreachable: ${errorMessage(err)}`);
    }
  }
  try {
    await fs.promises.access(deps.recordingsDir, fs.constants.W_OK);
  } catch (err) {
    out.recordings = { writable: false, error: errorMessage(err) };
    reasons.push(`the recordings folder is not writable: ${errorMessage(err)}`);
  }
  out.ready = reasons.length === 0;
  return out;
}
