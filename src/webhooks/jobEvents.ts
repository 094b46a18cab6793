import type { JobQueue } from '../egress/queue/index.js';
import type { EventBus } from './events.js';

/** Turns the job queue's end events into job_completed / job_failed; returns the unsubscribe function. */
export function forwardJobEvents(queue: JobQueue, events: EventBus): () => void {
  return queue.onEvent((e) => {
    if (e.type === 'completed') events.emit('job_completed', undefined, { job: e.id, name: e.name });
    else if (e.type === 'failed') events.emit('job_failed', undefined, { job: e.id, name: e.name, reason: e.reason });
  });
}
