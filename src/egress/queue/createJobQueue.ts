import type { Logger } from '../../log.js';
import { BullMqQueue } from './BullMqQueue.js';
import { InProcessQueue } from './InProcessQueue.js';
import type { JobQueue } from './types.js';

export interface JobQueueConfig {
  /** A Redis URL selects BullMQ; without one the in-process queue is used. */
  redis?: string;
  prefix?: string;
  attempts?: number;
  backoffMs?: number;
  addTimeoutMs?: number;
  closeTimeoutMs?: number;
  names?: string[];
  log?: Logger;
}

export function createJobQueue(config: JobQueueConfig = {}): JobQueue {
  const { redis, ...rest } = config;
  return redis ? new BullMqQueue({ redis, ...rest }) : new InProcessQueue(rest);
}
