import { randomBytes } from 'node:crypto';
import type { GroupRegistry, JoiningClient } from '../group/GroupRegistry.js';
import { JoinError } from '../group/GroupRegistry.js';
import type { Group } from '../group/Group.js';
import type { UpConnection } from '../ingest/UpConnection.js';
import type { Logger } from '../log.js';
import type { Recorder } from '../egress/recorder/Recorder.js';
import { errorMessage } from '../errors.js';
import { handleGroupAction, handleUserAction } from './actions.js';
import { MediaStreams, type MediaOptions } from './MediaStreams.js';
import { parseMessage, ProtocolError, serializeMessage, type Message } from './messages.js';
import { UserError } from './UserError.js';

/** What a session needs from the WebSocket it runs on. */
export interface Transport {
  send(text: string): void;
  close(code: number, reason: string): void;
  /** Bytes queued and not yet written: a client that stops reading is dropped. */
  readonly bufferedAmount: number;
}

export interface SessionDeps {
  registry: GroupRegistry;
  media: MediaOptions;
  /** The base URL of this server as the client reached it (for `status.location` and JWT audience). */
  origin?: URL;
  /** Records groups on `groupaction record`; absent when the server does not record. */
  recorder?: Recorder;
  /** Told how long each successful join took, from `join` received to `joined` sent (metrics). */
  observeJoin?: (seconds: number) => void;
  log: Logger;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;
const PING_AFTER_MS = 20_000;
const DEAD_AFTER_MS = 45_000;
const TICK_MS = 5_000;
/** Galène drops a client whose output queue is full; we drop one with this much unsent output. */
const MAX_BUFFERED_BYTES = 8 << 20;

/** One client of protocol v2 (galene-protocol.md §2): handshake, join, chat, actions and its streams. */
export class Session implements JoiningClient {
  id = '';
  username = '';
  permissions: string[] = [];
  data: Record<string, unknown> = {};
  group: Group | undefined;
  readonly media: MediaStreams;
  log: Logger;
  private handshaken = false;
  private closed = false;
  private lastInput = Date.now();
  private queue: Promise<void> = Promise.resolve();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly transport: Transport,
    readonly address: string | undefined,
    readonly deps: SessionDeps,
  ) {
    this.log = deps.log.child({ address });
    this.media = new MediaStreams(this, deps.media);
    const started = Date.now();
    this.timer = setInterval(() => this.tick(started), TICK_MS);
    this.timer.unref();
  }

  /** Feeds one text frame; frames are handled strictly in order. */
  receive(text: string): void {
    this.lastInput = Date.now();
    this.queue = this.queue.then(() => this.handleFrame(text));
  }

  send(m: Message): void {
    if (this.closed) return;
    if (this.transport.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.close(1011, 'client is not reading its messages');
      return;
    }
    this.transport.send(serializeMessage(m));
  }

  /** Sends a non-fatal error to the client. */
  error(message: string): void {
    this.send({ type: 'usermessage', kind: 'error', dest: this.id, privileged: true, value: message });
  }

  init(username: string, permissions: string[]): void {
    this.username = username;
    this.permissions = permissions;
  }

  pushStream(up: UpConnection, replace?: string): void {
    this.media.offerDown(up, replace);
  }

  setPermissions(permissions: string[]): void {
    this.permissions = permissions;
    this.joinedChanged();
    if (!permissions.includes('present')) this.media.closeAllUp('permission denied');
    this.group?.userChanged(this);
  }

  joinedChanged(): void {
    const g = this.group;
    if (!g) return;
    this.send({
      type: 'joined',
      kind: 'change',
      group: g.name,
      username: this.username,
      permissions: [...this.permissions],
      status: { ...g.status(true, this.deps.origin) },
      data: g.data,
      rtcConfiguration: this.deps.media.rtcConfiguration(this.id),
    });
  }

  /** The server is stopping: the client is told in words (shown by Galène's client and ours), then the socket closes (1001). */
  shutdown(): void {
    this.send({ type: 'usermessage', kind: 'warning', dest: this.id, privileged: true, value: 'The server is shutting down' });
    this.close(1001, 'server shutting down');
  }

  kick(by: { id?: string; username?: string }, message: string): void {
    this.send({
      type: 'usermessage',
      kind: 'kicked',
      id: by.id,
      username: by.username,
      dest: this.id,
      privileged: true,
      value: message || 'you have been kicked out',
    });
    this.close(1000, 'kicked');
  }

  /** Leaves the group, closes every stream and the socket. Idempotent. */
  close(code = 1000, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.leaveGroup();
    this.transport.close(code, reason);
  }

  private tick(started: number): void {
    const now = Date.now();
    if (!this.handshaken) {
      if (now - started > HANDSHAKE_TIMEOUT_MS) this.close(1000, 'no handshake');
      return;
    }
    if (now - this.lastInput > DEAD_AFTER_MS) this.close(1000, 'client is dead');
    else if (now - this.lastInput > PING_AFTER_MS) this.send({ type: 'ping' });
  }

  private async handleFrame(text: string): Promise<void> {
    if (this.closed) return;
    try {
      await this.dispatch(parseMessage(text));
    } catch (err) {
      if (err instanceof ProtocolError) {
        this.error(err.message);
        this.close(1002, err.message);
      } else if (err instanceof UserError) {
        this.error(err.message);
      } else {
        this.log.error({ err }, 'unexpected error handling a message');
        this.error(`internal server error: ${errorMessage(err)}`);
      }
    }
  }

  private async dispatch(m: Message): Promise<void> {
    if (!this.handshaken) return this.handshake(m);
    if (m.source !== undefined && m.source !== this.id) throw new ProtocolError('spoofed client id');
    if (m.type !== 'join' && m.username !== undefined && m.username !== this.username) {
      throw new ProtocolError('spoofed username');
    }
    switch (m.type) {
      case 'join':
        return this.join(m);
      case 'request':
        return this.media.setRequested(parseRequest(m.request));
      case 'requestStream':
        return this.media.setStreamRequest(requireId(m), parseStreamRequest(m.request));
      case 'offer':
        return this.media.gotOffer(requireId(m), m.label ?? '', m.sdp ?? '', m.replace);
      case 'answer':
        return this.media.gotAnswer(requireId(m), m.sdp ?? '');
      case 'ice':
        if (!m.candidate) throw new ProtocolError('null candidate');
        return this.media.gotIce(requireId(m), m.candidate);
      case 'renegotiate':
        return this.media.renegotiateDown(requireId(m));
      case 'close':
        return this.media.closeUp(requireId(m));
      case 'abort':
        return this.media.abortDown(requireId(m));
      case 'chat':
      case 'usermessage':
        return this.chat(m);
      case 'useraction':
        return handleUserAction(this, this.joinedGroup(), m);
      case 'groupaction':
        return handleGroupAction(this, this.joinedGroup(), m);
      case 'ping':
        return this.send({ type: 'pong' });
      case 'pong':
        return;
      default:
        throw new ProtocolError(`unexpected message type "${m.type}"`);
    }
  }

  private handshake(m: Message): void {
    if (m.type !== 'handshake') throw new ProtocolError('you must handshake first');
    if (!m.id) throw new ProtocolError('empty id');
    this.id = m.id;
    this.handshaken = true;
    this.send({ type: 'handshake', version: ['2'] });
    if (!m.version?.includes('2')) {
      this.send({
        type: 'usermessage',
        kind: 'warning',
        dest: this.id,
        privileged: true,
        value: 'This client is using an unknown protocol version; things may break.',
      });
    }
  }

  private async join(m: Message): Promise<void> {
    if (m.kind === 'leave') {
      if (!this.group || this.group.name !== m.group) throw new UserError('you are not joined');
      const name = this.group.name;
      this.leaveGroup();
      this.send({ type: 'joined', kind: 'leave', group: name, username: this.username });
      return;
    }
    if (m.kind !== 'join') throw new ProtocolError('unknown kind');
    if (this.group) throw new ProtocolError('cannot join multiple groups');
    const started = performance.now();
    const name = m.group ?? '';
    const redirect = this.deps.registry.get(name)?.description.redirect;
    if (redirect) {
      this.send({ type: 'joined', kind: 'redirect', group: name, username: m.username, value: redirect });
      return;
    }
    this.data = m.data ?? {};
    let group: Group;
    try {
      group = await this.deps.registry.join(
        name,
        this,
        { username: m.username, password: m.password, token: m.token },
      );
    } catch (err) {
      if (!(err instanceof JoinError)) throw err;
      this.send({
        type: 'joined',
        kind: 'fail',
        error: err.wireError,
        group: name,
        username: m.username ?? this.username,
        value: err.value,
      });
      return;
    }
    if (this.closed) {
      group.remove(this);
      return;
    }
    this.group = group;
    this.log = this.log.child({ group: name, user: this.username });
    this.send({
      type: 'joined',
      kind: 'join',
      group: name,
      username: this.username,
      permissions: [...this.permissions],
      status: { ...group.status(true, this.deps.origin), canChangePassword: false },
      data: group.data,
      rtcConfiguration: this.deps.media.rtcConfiguration(this.id),
    });
    for (const e of group.chat.list()) {
      this.send({
        type: 'chathistory',
        id: e.id,
        source: e.source,
        username: e.username,
        time: e.time.toISOString(),
        kind: e.kind,
        value: e.value,
      });
    }
    group.introduce(this);
    this.deps.observeJoin?.((performance.now() - started) / 1000);
  }

  private chat(m: Message): void {
    const g = this.joinedGroup();
    const required = m.type === 'chat' && m.kind === 'caption' ? 'caption' : 'message';
    if (!this.permissions.includes(required)) throw new UserError('not authorised');
    const id = m.type === 'chat' && !m.dest && !m.id ? randomBytes(8).toString('base64url') : m.id;
    const time = new Date();
    const out: Message = {
      type: m.type,
      id,
      source: this.id,
      dest: m.dest,
      username: this.username,
      privileged: this.permissions.includes('op'),
      time: time.toISOString(),
      kind: m.kind,
      noecho: m.noecho,
      value: m.value,
    };
    if (m.dest) {
      const target = g.clients.get(m.dest);
      if (!target) throw new UserError('user unknown');
      target.send(out);
      return;
    }
    if (m.type === 'chat') {
      g.chat.add({ id: id ?? '', source: this.id, username: this.username, time, kind: m.kind ?? '', value: m.value });
    }
    g.broadcast(out, m.noecho ? this : undefined);
  }

  joinedGroup(): Group {
    if (!this.group) throw new UserError('join a group first');
    return this.group;
  }

  private leaveGroup(): void {
    this.media.closeAll();
    const g = this.group;
    if (!g) return;
    this.group = undefined;
    this.deps.registry.leave(this, g);
  }
}

function requireId(m: Message): string {
  if (!m.id) throw new ProtocolError('empty id');
  return m.id;
}

function parseRequest(r: unknown): Record<string, string[]> {
  if (r === undefined || r === null) return {};
  if (typeof r !== 'object' || Array.isArray(r)) throw new ProtocolError('bad type in request');
  const out: Record<string, string[]> = {};
  for (const [label, list] of Object.entries(r)) {
    if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) {
      throw new ProtocolError('bad type in request');
    }
    out[label] = list;
  }
  return out;
}

function parseStreamRequest(r: unknown): string[] | undefined {
  if (r === undefined || r === null) return undefined;
  if (!Array.isArray(r) || !r.every((x) => typeof x === 'string')) throw new ProtocolError('bad type in request');
  return r;
}
