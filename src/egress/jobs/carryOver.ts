import fs from 'node:fs';
import path from 'node:path';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { InProcessQueue, JobQueue } from '../queue/index.js';
import { EGRESS_JOBS } from './types.js';

const EGRESS: ReadonlySet<string> = new Set(EGRESS_JOBS);

/**
 * At shutdown, with the in-process queue: writes the egress jobs not finished yet to `file` (a temp file
 * renamed over it), so that `resume` enqueues them at the next start. The jobs are idempotent, so one that was
 * half done simply runs again. Live HLS jobs are not carried over: their lecture is over.
 */
export function carryOver(queue: InProcessQueue, file: string, log: Logger): void {
  const jobs = queue.unfinished().filter((j) => EGRESS.has(j.name));
  if (jobs.length === 0) return;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(jobs), { mode: 0o600 });
    fs.renameSync(tmp, file);
    log.info({ jobs: jobs.length, file }, 'unfinished jobs kept for the next start');
  } catch (e) {
    log.error({ err: errorMessage(e), file }, 'cannot keep the unfinished jobs: they are lost (the recordings stay as written)');
  }
}

/** At start: enqueues the jobs `carryOver` kept, then removes the file. A bad file is logged and set aside. */
export function resume(queue: JobQueue, file: string, log: Logger): void {
  let jobs: unknown;
  try {
    jobs = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    log.error({ err: errorMessage(e), file }, 'cannot read the unfinished jobs of the last run; file set aside');
    fs.renameSync(file, `${file}.bad`);
    return;
  }
  fs.rmSync(file, { force: true });
  const list = Array.isArray(jobs) ? jobs : [];
  for (const j of list) {
    if (typeof j?.name !== 'string' || !EGRESS.has(j.name)) continue;
    queue.add(j.name, j.data).catch((e: unknown) => log.error({ err: errorMessage(e), job: j.name }, 'cannot enqueue a carried-over job'));
  }
  log.info({ jobs: list.length }, 'resumed the unfinished jobs of the last run');
}
