export * from './types.js';
export { InProcessQueue, type InProcessQueueOptions } from './InProcessQueue.js';
export { BullMqQueue, type BullMqQueueOptions } from './BullMqQueue.js';
export { createJobQueue, type JobQueueConfig } from './createJobQueue.js';
