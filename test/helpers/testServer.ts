import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { silentLogger } from '../../src/log.js';
import { startServer, type LecternServer } from '../../src/server.js';
import type { TurnSetting } from '../../src/turn/builtinTurn.js';

export interface TestServer extends LecternServer {
  dir: string;
  wsUrl: string;
  /** Writes (or rewrites) groups/<name>.json. */
  writeGroup(name: string, desc: unknown): void;
  stop(): Promise<void>;
}

/** The group description of a plain lecture: `teacher` (password `pw`) is an op, anyone else may watch. */
export const LECTURE_GROUP = {
  users: { teacher: { password: 'pw', permissions: 'op' } },
  'wildcard-user': { password: { type: 'wildcard' }, permissions: 'observe' },
};

/** A Lectern server on 127.0.0.1 (plain HTTP, a free port, ICE on loopback only) with its own temp folders. */
export async function startTestServer(opts: {
  groups?: Record<string, unknown>;
  config?: unknown;
  staticDir?: string;
  /** The server's UDP port range for media (`--udp-range`). */
  portRange?: [number, number];
  /** Run the viewers' connections on this many forwarding threads (`--forward-threads`). */
  forwardThreads?: number;
  /** A plain-HTTP listener for workers (`--internal-http`), on 127.0.0.1 and a free port when true. */
  internal?: boolean;
  /** Galène's `-relay-only` flag. */
  relayOnly?: boolean;
  /** `--redis URL`: the job queue on BullMQ. */
  redis?: string;
  /** The built-in TURN server (`--turn`; default auto, which stays off with ICE on loopback). */
  turn?: TurnSetting;
} = {}): Promise<TestServer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-test-'));
  const dataDir = path.join(dir, 'data');
  const groupsDir = path.join(dir, 'groups');
  fs.mkdirSync(dataDir);
  fs.mkdirSync(groupsDir);
  if (opts.config) fs.writeFileSync(path.join(dataDir, 'config.json'), JSON.stringify(opts.config));
  // Groups are written as given: a lecture gets live HLS, as it does for users, unless a test says otherwise.
  const writeGroup = (name: string, desc: unknown) => {
    const file = path.join(groupsDir, `${name}.json`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify(desc));
  };
  for (const [name, desc] of Object.entries(opts.groups ?? {})) writeGroup(name, desc);
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    insecure: true,
    dataDir,
    groupsDir,
    recordingsDir: path.join(dir, 'recordings'),
    staticDir: opts.staticDir,
    ice: { hostAddresses: ['127.0.0.1'], portRange: opts.portRange },
    forwardThreads: opts.forwardThreads,
    ...(opts.internal ? { internal: { host: '127.0.0.1', port: 0 } } : {}),
    relayOnly: opts.relayOnly,
    redis: opts.redis,
    turn: opts.turn,
    logLevel: 'silent',
    log: silentLogger,
  });
  return {
    ...server,
    dir,
    wsUrl: `ws://127.0.0.1:${server.address.port}/ws`,
    writeGroup,
    stop: async () => {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
