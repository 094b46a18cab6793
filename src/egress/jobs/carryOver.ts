import fs from 'node:fs';
import { errorMessage } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { JobQueue } from '../queue/index.js';
import { EGRESS_JOBS } from './types.js';

const EGRESS: ReadonlySet<string> = new Set(EGRESS_JOBS);

/**
 * At start: enqueues the unfinished jobs an earlier version wrote to `file` at shutdown (the job journal,
 * pendingJobs.ts, has replaced that file), then removes it. A bad file is logged and set aside.
 */
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
