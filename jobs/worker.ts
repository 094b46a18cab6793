/**
 * `npm run worker -- --redis URL --recordings DIR [--ffmpeg PATH] [--concurrency N] [--prefix P]`
 *
 * Runs the egress jobs (finalize, composite, hls-vod, thumbnail, live-hls) from a BullMQ queue in this process; any
 * number of workers on any machines sharing the recordings folder may run at once. SIGTERM/SIGINT close
 * the queue: running jobs are aborted (ffmpeg killed) and retried by another worker, then the process exits.
 */
import { stat, writeFile } from 'node:fs/promises';
import { Redis } from 'ioredis';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { registerEgressJobs } from '../src/egress/jobs/index.js';
import { registerLiveHlsJob } from '../src/egress/live/register.js';
import { BullMqQueue } from '../src/egress/queue/index.js';
import { installWeriftFixes } from '../src/forward/weriftFixes.js';
import { createLogger } from '../src/log.js';

const USAGE = `usage: npm run worker -- --redis URL --recordings DIR [--ffmpeg PATH] [--concurrency N] [--prefix P]

  --redis URL         Redis of the job queue, redis://[user:pass@]host:port[/db] (required)
  --recordings DIR    the recordings folder shared with the server (required)
  --ffmpeg PATH       ffmpeg binary (default: the bundled one)
  --concurrency N     jobs of each kind at once (default 1)
  --prefix P          Redis key prefix (default lectern; must match the server's)
  --log-level L       pino level (default info)
  --heartbeat FILE    every 10 s, write the time to FILE when Redis answers PING (a healthcheck reads its age)
`;

class UsageError extends Error {}

interface WorkerArgs {
  redis: string;
  recordings: string;
  ffmpeg?: string;
  concurrency: number;
  prefix?: string;
  logLevel: string;
  heartbeat?: string;
}

async function parse(argv: string[]): Promise<WorkerArgs | 'help'> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        redis: { type: 'string' },
        recordings: { type: 'string' },
        ffmpeg: { type: 'string' },
        concurrency: { type: 'string' },
        prefix: { type: 'string' },
        'log-level': { type: 'string' },
        heartbeat: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) return 'help';
  if (!values.redis) throw new UsageError('--redis URL is required');
  if (!/^rediss?:\/\/[^/]/.test(values.redis)) throw new UsageError(`--redis: expected redis://host:port, got "${values.redis}"`);
  if (!values.recordings) throw new UsageError('--recordings DIR is required');
  const recordings = resolve(values.recordings);
  const st = await stat(recordings).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError(`--recordings: ${recordings} is not a directory`);
  let concurrency = 1;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) {
      throw new UsageError(`--concurrency: expected an integer from 1 to 64, got "${values.concurrency}"`);
    }
  }
  return {
    redis: values.redis,
    recordings,
    concurrency,
    logLevel: values['log-level'] ?? 'info',
    ...(values.ffmpeg ? { ffmpeg: values.ffmpeg } : {}),
    ...(values.prefix ? { prefix: values.prefix } : {}),
    ...(values.heartbeat ? { heartbeat: resolve(values.heartbeat) } : {}),
  };
}

async function main(): Promise<void> {
  let args;
  try {
    args = await parse(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`lectern worker: ${err.message}\n\n${USAGE}`);
    process.exit(2);
  }
  if (args === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const log = createLogger(args.logLevel);
  const queue = new BullMqQueue({ redis: args.redis, log, ...(args.prefix ? { prefix: args.prefix } : {}) });
  registerEgressJobs(queue, {
    recordingsDir: args.recordings,
    concurrency: args.concurrency,
    ...(args.ffmpeg ? { ffmpegPath: args.ffmpeg } : {}),
  });
  // live-hls: subscribes over WHEP to the URL in each job; STUN from the system's defaults (werift's). Its werift
  // peers get the server's run-time fixes, the packet guards among them.
  installWeriftFixes();
  registerLiveHlsJob(queue, { recordingsDir: args.recordings, log, ...(args.ffmpeg ? { ffmpegPath: args.ffmpeg } : {}) });
  log.info({ recordings: args.recordings, concurrency: args.concurrency }, 'lectern worker ready');
  process.stdout.write('lectern worker ready\n');
  const heartbeat = args.heartbeat ? startHeartbeat(args.redis, args.heartbeat, log) : undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'worker shutting down');
    heartbeat?.();
    void queue.close(signal).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

/**
 * The worker's liveness for a healthcheck: every 10 s, a PING on a connection of its own to the queue's Redis,
 * and on success the time written to `file`. A stale file means the process is stuck or Redis is unreachable.
 */
function startHeartbeat(url: string, file: string, log: ReturnType<typeof createLogger>): () => void {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false });
  redis.on('error', () => undefined); // the queue's own connections log the outage
  const beat = () =>
    redis.ping().then(
      () => writeFile(file, `${new Date().toISOString()}\n`),
      (err: unknown) => log.warn({ err: String(err) }, 'heartbeat: Redis does not answer'),
    ).catch((err: unknown) => log.warn({ err: String(err), file }, 'heartbeat: cannot write the file'));
  void beat();
  const timer = setInterval(beat, 10_000);
  return () => {
    clearInterval(timer);
    redis.disconnect();
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`lectern worker: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
