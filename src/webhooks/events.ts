import { randomUUID } from 'node:crypto';
import type { Logger } from '../log.js';

/** What happens on a server that an administrator's systems may want to hear about (webhooks, metrics). */
export const EVENT_TYPES = [
  'lecture_started',
  'lecture_ended',
  'participant_joined',
  'participant_left',
  'track_published',
  'track_unpublished',
  'recording_started',
  'recording_finished',
  'job_completed',
  'job_failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** One event, exactly as a webhook body carries it. */
export interface LecternEvent {
  /** Unique per event (a UUID): receivers use it to drop the duplicates a retry may cause. */
  readonly id: string;
  readonly type: EventType;
  /** ISO 8601 time the event happened. */
  readonly time: string;
  readonly group?: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export type EventListener = (event: LecternEvent) => void;

/**
 * A small synchronous event bus owned by the server. The group registry, groups, the recorder and the job
 * queue call `emit` (cheap: nothing is built when nobody listens); listeners must not block, and one that
 * throws is logged and does not disturb the emitter or the other listeners.
 */
export class EventBus {
  private readonly listeners = new Set<EventListener>();

  constructor(private readonly log?: Logger) {}

  on(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  emit(type: EventType, group: string | undefined, details: Record<string, unknown> = {}): void {
    if (this.listeners.size === 0) return;
    const event: LecternEvent = {
      id: randomUUID(),
      type,
      time: new Date().toISOString(),
      ...(group !== undefined ? { group } : {}),
      details,
    };
    for (const l of this.listeners) {
      try {
        l(event);
      } catch (err) {
        this.log?.error({ err, type }, 'event listener threw');
      }
    }
  }
}
