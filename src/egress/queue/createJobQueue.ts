import { BullMqQueue, type BullMqQueueOptions } from './BullMqQueue.js';
import { InProcessQueue } from './InProcessQueue.js';
import type { JobQueue } from './types.js';

/** The options of both backends; a Redis URL selects BullMQ, without one the in-process queue is used. */
export type JobQueueConfig = Omit<BullMqQueueOptions, 'redis'> & { redis?: string };

export function createJobQueue(config: JobQueueConfig = {}): JobQueue {
  const { redis, ...rest } = config;
  return redis ? new BullMqQueue({ redis, ...rest }) : new InProcessQueue(rest);
}
