import { parseArgs, parseListenAddress, USAGE } from './cli.js';
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
    turn: cli.turn,
    logLevel: cli.logLevel,
    ...(cli.internalHttp
      ? { internal: { ...parseListenAddress(cli.internalHttp, '--internal-http'), ...(cli.internalUrl ? { url: cli.internalUrl } : {}) } }
      : {}),
    ice: { portRange: cli.udpRange, hostAddresses: cli.iceAddresses, publicAddresses: cli.publicAddresses },
    relayOnly: cli.relayOnly,
    log,
    report: (text) => process.stderr.write(`lectern: ${text}`),
  });
  const stop = (signal: string) => {
    log.info({ signal }, 'shutting down');
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
}

// A startup failure is one line: what failed and what to do (a stack trace says nothing to whoever runs it).
main().catch((err: unknown) => {
  process.stderr.write(`lectern: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
