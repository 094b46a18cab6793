import { parseArgs, parseListenAddress, USAGE } from './cli.js';
import { LecternError } from './errors.js';
import { createLogger } from './log.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  let cli;
  try {
    cli = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(2);
  }
  if (cli.help) {
    process.stdout.write(USAGE);
    return;
  }
  const log = createLogger(cli.logLevel);
  // A fault inside the WebRTC stack while handling one peer must not take down every other session.
  process.on('unhandledRejection', (err) => log.error({ err }, 'unhandled rejection'));
  const { host, port } = parseListenAddress(cli.http);
  const server = await startServer({
    host,
    port,
    insecure: cli.insecure,
    dataDir: cli.data,
    groupsDir: cli.groups,
    recordingsDir: cli.recordings,
    staticDir: cli.static,
    redis: cli.redis,
    ffmpegPath: cli.ffmpeg,
    forwardThreads: cli.forwardThreads,
    logLevel: cli.logLevel,
    ice: { portRange: cli.udpRange, hostAddresses: cli.iceAddresses },
    log,
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  const message = err instanceof LecternError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
  process.stderr.write(`lectern: ${message}\n`);
  process.exit(1);
});
