import { spawn, type ChildProcessByStdio } from 'node:child_process';
import fs from 'node:fs';
import type { Readable } from 'node:stream';

/** util-linux's setpriv (Debian: always installed), if this machine has it. */
const SETPRIV = ['/usr/bin/setpriv', '/bin/setpriv'].find((p) => executable(p));

function executable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Spawns `file` so that it dies with this process. A live job's ffmpeg reads RTP from a UDP port: if the
 * server is killed (SIGKILL, a crash, the OOM killer), nothing would ever stop it, and it would hold its
 * ports and CPU until the machine restarts. setpriv sets PR_SET_PDEATHSIG before it execs `file`, so the
 * kernel sends SIGKILL when the thread that spawned it (node's main thread) ends; the pid stays `file`'s.
 * Without setpriv, or when `file` is not executable (so that the caller still sees spawn's ENOENT),
 * `file` is spawned directly. stdin is closed, stdout and stderr are pipes.
 */
export function spawnTied(file: string, args: readonly string[]): ChildProcessByStdio<null, Readable, Readable> {
  const stdio: ['ignore', 'pipe', 'pipe'] = ['ignore', 'pipe', 'pipe'];
  if (SETPRIV && executable(file)) return spawn(SETPRIV, ['--pdeathsig', 'KILL', '--', file, ...args], { stdio });
  return spawn(file, args, { stdio });
}
