/** Every process the fan-out benchmark starts is tracked here and killed on the way out. */
import type { ChildProcess } from 'node:child_process';
import { childPids } from './procStats.js';

const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Kills, by pid, everything this process started (tracked children, then any other direct child: ffmpeg). */
export function killAll(): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const pid of childPids(process.pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Kills every child on exit, on a signal, and after `timeoutSeconds` whatever happens. */
export function killChildrenOnExit(timeoutSeconds: number, log: (msg: string) => void): NodeJS.Timeout {
  process.on('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping`);
      killAll();
      process.exit(130);
    });
  }
  return setTimeout(() => {
    log(`gave up after ${timeoutSeconds} s (--timeout)`);
    killAll();
    process.exit(3);
  }, timeoutSeconds * 1000);
}

/** Runs a benchmark's main: exits 0 when it is done, or logs the error, kills every child and exits 1. */
export function runMain(main: () => Promise<void>, hardStop: NodeJS.Timeout, log: (msg: string) => void): void {
  main().then(
    () => {
      clearTimeout(hardStop);
      process.exit(0);
    },
    (err: unknown) => {
      log(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      killAll();
      process.exit(1);
    },
  );
}
