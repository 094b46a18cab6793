import type { GroupDescription } from '../config/GroupStore.js';
import type { UpConnection } from '../ingest/UpConnection.js';
import type { Message } from '../signal/messages.js';
import type { EventBus } from '../webhooks/events.js';
import { ChatHistory } from './ChatHistory.js';
import type { Client } from './Client.js';

/** Galène's group status (`.status`, `public-groups.json`, and `joined`). */
export interface GroupStatus {
  name: string;
  redirect?: string;
  location?: string;
  endpoint?: string;
  displayName?: string;
  description?: string;
  authServer?: string;
  authPortal?: string;
  locked?: boolean;
  clientCount?: number;
  canChangePassword?: boolean;
  /** Lectern: the group has a live HLS stream at `.hls/index.m3u8` (Galène's clients ignore the key). */
  hls?: boolean;
  /** Lectern: every member may see the recordings (`members-see-recordings`). */
  membersSeeRecordings?: boolean;
}

/** A live group: its members, their streams, lock state, group data and chat history. */
export class Group {
  readonly clients = new Map<string, Client>();
  readonly streams = new Map<string, UpConnection>();
  readonly chat: ChatHistory;
  /** The lock message when locked (Galène: an empty message means the default text). */
  locked: string | undefined;
  data: Record<string, unknown> = {};

  constructor(
    readonly name: string,
    private desc: GroupDescription,
    /** Where participant, track and lecture events go (webhooks, metrics). */
    private readonly events?: EventBus,
  ) {
    this.chat = new ChatHistory(desc.maxHistoryAge);
    if (desc.autolock) this.locked = '';
  }

  get description(): GroupDescription {
    return this.desc;
  }

  setDescription(desc: GroupDescription): void {
    this.desc = desc;
    this.chat.setMaxAge(desc.maxHistoryAge);
  }

  members(except?: Client): Client[] {
    return [...this.clients.values()].filter((c) => c !== except);
  }

  broadcast(m: Message, except?: Client): void {
    for (const c of this.clients.values()) if (c !== except) c.send(m);
  }

  hasOp(): boolean {
    return this.members().some((c) => c.permissions.includes('op'));
  }

  /** Adds an authorised client and announces it to the members already present. */
  add(client: Client): void {
    for (const other of this.clients.values()) other.send(userMessage('add', client));
    this.clients.set(client.id, client);
    if (!client.permissions.includes('system')) this.events?.emit('participant_joined', this.name, participant(client));
  }

  /** Sends a newcomer `user add` for itself, then for every other member (after its `joined`). */
  introduce(client: Client): void {
    client.send(userMessage('add', client));
    for (const other of this.members(client)) client.send(userMessage('add', other));
  }

  /** Removes a client, tells the others, and applies autolock/autokick when the last op left. */
  remove(client: Client): void {
    if (this.clients.get(client.id) !== client) return;
    this.clients.delete(client.id);
    if (!client.permissions.includes('system')) this.events?.emit('participant_left', this.name, participant(client));
    this.broadcast({ type: 'user', kind: 'delete', id: client.id, username: client.username });
    if (!this.hasOp()) {
      if (this.desc.autolock && this.locked === undefined) {
        this.locked = '';
        this.broadcastJoinedChange();
      }
      if (this.desc.autokick) {
        for (const c of this.members()) c.kick({}, 'there are no operators in this group');
      }
    }
  }

  /** Tells every member that a client's permissions or data changed. */
  userChanged(client: Client): void {
    this.broadcast(userMessage('change', client));
  }

  setLocked(locked: boolean, message = ''): void {
    this.locked = locked ? message : undefined;
    this.broadcastJoinedChange();
  }

  updateData(patch: Record<string, unknown>): void {
    this.data = mergeData(this.data, patch);
    this.broadcastJoinedChange();
  }

  /** Each member gets `joined` of kind `change` with its own permissions and the new status. */
  broadcastJoinedChange(): void {
    for (const c of this.clients.values()) c.joinedChanged();
  }

  addStream(up: UpConnection, replace?: string): void {
    if (!this.streams.has(up.id)) this.streamEvent('track_published', up, this.streams.size === 0 && 'lecture_started');
    this.streams.set(up.id, up);
    for (const c of this.clients.values()) if (c.id !== up.clientId) c.pushStream(up, replace);
  }

  removeStream(id: string): void {
    const up = this.streams.get(id);
    if (!this.streams.delete(id) || !up) return;
    this.streamEvent('track_unpublished', up, this.streams.size === 0 && 'lecture_ended');
  }

  private streamEvent(type: 'track_published' | 'track_unpublished', up: UpConnection, lecture: string | false): void {
    if (!this.events) return;
    const details = { stream: up.id, label: up.label, clientId: up.clientId, username: up.username };
    if (lecture === 'lecture_started') this.events.emit(lecture, this.name, details);
    this.events.emit(type, this.name, details);
    if (lecture === 'lecture_ended') this.events.emit(lecture, this.name, details);
  }

  status(authenticated: boolean, base?: URL): GroupStatus {
    const d = this.desc;
    if (d.redirect) {
      return { name: this.name, redirect: d.redirect, displayName: d.displayName, description: d.description };
    }
    const status: GroupStatus = {
      name: this.name,
      displayName: d.displayName,
      description: d.description,
      authServer: d.authServer,
      authPortal: d.authPortal,
      ...(d.hls ? { hls: true } : {}),
      ...(d.membersSeeRecordings ? { membersSeeRecordings: true } : {}),
    };
    if (base) {
      const basePath = base.pathname.replace(/\/+$/, '');
      status.location = `${base.protocol}//${base.host}${basePath}/group/${this.name}/`;
      status.endpoint = `${base.protocol === 'http:' ? 'ws' : 'wss'}://${base.host}${basePath}/ws`;
    }
    if (authenticated || d.public) {
      status.locked = this.locked !== undefined;
      status.clientCount = this.clients.size;
    }
    return status;
  }
}

export function userMessage(kind: 'add' | 'change', c: Client): Message {
  return {
    type: 'user',
    kind,
    id: c.id,
    username: c.username,
    permissions: [...c.permissions],
    data: { ...c.data },
  };
}

function participant(c: Client): Record<string, unknown> {
  return { id: c.id, username: c.username, permissions: [...c.permissions] };
}

/** Merges a setdata patch: a null value deletes the key. */
export function mergeData(data: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...data };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = v;
  }
  return out;
}
