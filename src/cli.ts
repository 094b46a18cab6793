import net from 'node:net';
import { LecternError } from './errors.js';
import { parseTurnSetting, type TurnSetting } from './turn/builtinTurn.js';

/** Command-line options: Galène's flags (one or two leading dashes), plus Lectern's own. */
export interface CliOptions {
  http: string;
  insecure: boolean;
  data: string;
  groups: string;
  recordings: string;
  static: string | undefined;
  udpRange: [number, number] | undefined;
  /** Lectern: gather ICE host candidates on these addresses only (default: every interface). */
  iceAddresses: string[] | undefined;
  /** Announce these addresses in the host candidates, with the real local port (NAT 1:1). */
  publicAddresses: string[] | undefined;
  /** Galène's -relay-only: clients are told to relay all media through TURN (iceTransportPolicy "relay"). */
  relayOnly: boolean;
  redis: string | undefined;
  /** Lectern: the ffmpeg binary for in-process jobs (default: @ffmpeg-installer's). */
  ffmpeg: string | undefined;
  logLevel: string;
  /** Lectern: worker threads that run the viewers' connections (0: all on the main thread). */
  forwardThreads: number;
  /** Lectern: a plain-HTTP listener for egress workers, serving only WHEP with a job's token. */
  internalHttp: string | undefined;
  /** Lectern: the URL workers reach that listener at (default: its bound address). */
  internalUrl: string | undefined;
  /** Galène's -turn: the built-in TURN server (default auto). */
  turn: TurnSetting;
  help: boolean;
}

export const USAGE = `Usage: npm start -- [options]

  --http ADDR           listen address, [host]:port (default ":8443")
  --insecure            serve plain HTTP instead of HTTPS
  --data DIR            data folder: config.json, cert.pem, key.pem, ice-servers.json (default ./data)
  --groups DIR          group definitions, one JSON file per group (default ./groups)
  --recordings DIR      recordings folder (default ./recordings)
  --static DIR          folder of web client files (a Galène static/ folder works)
  --udp-range A-B       UDP port range for media
  --ice-address IP      gather ICE candidates on this address only (repeatable)
  --public-address IP   announce IP in the server's ICE candidates, keeping the local port (NAT 1:1; repeatable)
  --relay-only          tell clients to relay all media through the TURN servers (iceTransportPolicy "relay")
  --mdns                Galène's mDNS flag: refused (not needed by an ICE-lite server, see the README)
  --redis URL           Redis for the job queue; \`npm run worker\` then runs the jobs (default: in-process)
  --ffmpeg PATH         ffmpeg binary for in-process jobs (default: the bundled one)
  --log-level LEVEL     fatal, error, warn, info, debug, trace or silent (default info)
  --forward-threads N   run viewers' connections on N worker threads (default 0: on the main thread)
  --internal-http ADDR  plain-HTTP listener for workers, [host]:port: only WHEP, only with a job's token
  --internal-url URL    the URL workers reach --internal-http at, e.g. http://lectern:8444
  --turn ADDR           built-in TURN server: auto, :PORT, IP:PORT or "" for off (default auto: :1194
                        on public addresses when there is no ice-servers.json)
  --help                this text
`;

const VALUE_FLAGS = new Set(['http', 'data', 'groups', 'recordings', 'static', 'udp-range', 'ice-address', 'public-address', 'redis', 'ffmpeg', 'log-level', 'forward-threads', 'internal-http', 'internal-url', 'turn']);
const BOOL_FLAGS = new Set(['insecure', 'help', 'relay-only', 'mdns']);

export const MDNS_REFUSED =
  '--mdns is not supported: Lectern is ICE-lite, it learns a browser\'s address from its connectivity checks, so mDNS candidates need no resolving and it has none to gather';

function usageError(message: string): LecternError {
  return new LecternError('usage', `${message}\n\n${USAGE}`);
}

export function parseUdpRange(s: string): [number, number] {
  const m = /^(\d+)-(\d+)$/.exec(s);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1 || hi > 65535 || lo >= hi) throw usageError(`--udp-range: expected A-B with 0 < A < B < 65536, got "${s}"`);
  return [lo, hi];
}

export function parseArgs(argv: readonly string[]): CliOptions {
  const opts: CliOptions = {
    http: ':8443',
    insecure: false,
    data: './data',
    groups: './groups',
    recordings: './recordings',
    static: undefined,
    udpRange: undefined,
    iceAddresses: undefined,
    publicAddresses: undefined,
    relayOnly: false,
    redis: undefined,
    ffmpeg: undefined,
    logLevel: 'info',
    forwardThreads: 0,
    internalHttp: undefined,
    internalUrl: undefined,
    turn: { mode: 'auto' },
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(arg);
    if (!m) throw usageError(`unexpected argument "${arg}"`);
    const name = m[1]!;
    let value = m[2];
    if (BOOL_FLAGS.has(name)) {
      const on = value === undefined || value === 'true';
      if (name === 'insecure') opts.insecure = on;
      else if (name === 'relay-only') opts.relayOnly = on;
      else if (name === 'mdns') {
        if (on) throw new LecternError('usage', MDNS_REFUSED);
      } else opts.help = on;
      continue;
    }
    if (!VALUE_FLAGS.has(name)) throw usageError(`unknown flag "${arg}"`);
    if (value === undefined) {
      value = argv[++i];
      if (value === undefined) throw usageError(`flag --${name} needs a value`);
    }
    switch (name) {
      case 'http': opts.http = value; break;
      case 'data': opts.data = value; break;
      case 'groups': opts.groups = value; break;
      case 'recordings': opts.recordings = value; break;
      case 'static': opts.static = value; break;
      case 'udp-range': opts.udpRange = parseUdpRange(value); break;
      case 'ice-address': opts.iceAddresses = [...(opts.iceAddresses ?? []), value]; break;
      case 'public-address':
        if (net.isIP(value) === 0) throw usageError(`--public-address: expected an IP address, got "${value}"`);
        opts.publicAddresses = [...(opts.publicAddresses ?? []), value];
        break;
      case 'redis':
        if (!/^rediss?:\/\/[^/]/.test(value)) throw usageError(`--redis: expected redis://host:port, got "${value}"`);
        opts.redis = value;
        break;
      case 'ffmpeg': opts.ffmpeg = value; break;
      case 'turn':
        try {
          opts.turn = parseTurnSetting(value);
        } catch (err) {
          throw usageError((err as Error).message);
        }
        break;
      case 'log-level': opts.logLevel = value; break;
      case 'forward-threads':
        if (!/^\d{1,2}$/.test(value)) throw usageError(`--forward-threads: expected a number of threads, got "${value}"`);
        opts.forwardThreads = Number(value);
        break;
      case 'internal-http':
        parseListenAddress(value, '--internal-http');
        opts.internalHttp = value;
        break;
      case 'internal-url':
        if (!/^http:\/\/[^/]+\/?$/.test(value)) throw usageError(`--internal-url: expected http://host:port, got "${value}"`);
        opts.internalUrl = value;
        break;
    }
  }
  return opts;
}

/** Splits Galène's listen address ":8443", "127.0.0.1:8080" or "[::1]:8443" into host and port. */
export function parseListenAddress(addr: string, flag = '--http'): { host: string | undefined; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw usageError(`${flag}: expected [host]:port, got "${addr}"`);
  const host = m[1] ?? m[2];
  return { host: host ? host : undefined, port };
}
