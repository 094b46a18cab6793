import type { UpConnection } from '../ingest/UpConnection.js';
import type { Message } from '../signal/messages.js';

/**
 * A member of a group: a protocol session (signal/Session.ts), or a system client such as the recorder.
 * The group talks to its members only through this interface.
 */
export interface Client {
  readonly id: string;
  readonly username: string;
  readonly permissions: readonly string[];
  readonly data: Readonly<Record<string, unknown>>;
  /** The remote address, for `identify`; undefined for system clients. */
  readonly address: string | undefined;
  /** Delivers a protocol message; system clients may ignore it. */
  send(m: Message): void;
  /** A member published a stream (or replaced one): the client may subscribe to it. */
  pushStream(up: UpConnection, replace?: string): void;
  /** Changes the client's permissions (op actions) and tells it and the group. */
  setPermissions(permissions: string[]): void;
  /** The group's status or data changed: the client is sent `joined` of kind `change`. */
  joinedChanged(): void;
  /** Removes the client from the group with a message, as Galène's kick. */
  kick(by: { id?: string; username?: string }, message: string): void;
}
