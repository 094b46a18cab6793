/**
 * Galène protocol v2 over a WebSocket (galene-protocol.md §2): handshake, join, users, chat, and the media
 * streams of stream.ts. It reconnects a lost socket and rejoins, republishing what was being published.
 */
import { DownStream, randomId, UpStream, type Message } from './stream.js';

export type ConnState =
  | { kind: 'connecting' }
  | { kind: 'connected' }
  /** shutdown: the server closed the socket because it is stopping (close code 1001). */
  | { kind: 'reconnecting'; shutdown?: boolean }
  | { kind: 'disconnected' }
  | { kind: 'failed'; reason: string; error?: string };

export interface User {
  id: string;
  username: string;
  permissions: string[];
  data: Record<string, unknown>;
}

export interface ChatEntry {
  id?: string;
  source?: string;
  username?: string;
  time?: string;
  kind?: string;
  value: string;
  privileged: boolean;
  history: boolean;
  /** Set on a private message (to us). */
  dest?: string;
}

export interface Credentials {
  username?: string;
  password?: string;
  token?: string;
}

/** What the connection tells its view; every callback is about state the view can read back. */
export interface ConnectionEvents {
  state(s: ConnState): void;
  /** Joined, or our permissions or the group's status changed. */
  joined(): void;
  users(): void;
  chat(e: ChatEntry): void;
  notice(kind: 'error' | 'warning' | 'info', text: string): void;
  /** A stream was added, closed or got a track. */
  streams(): void;
  /** An op asked us to mute our microphone (a privileged `usermessage` of kind `mute`). */
  muted?(by: string): void;
}

const PING_AFTER_MS = 15_000;
const GIVE_UP_AFTER_MS = 65_000;
const MAX_BACKOFF_MS = 10_000;

export class ServerConnection {
  readonly users = new Map<string, User>();
  readonly down = new Map<string, DownStream>();
  readonly up = new Map<string, UpStream>();
  id = '';
  username = '';
  permissions: string[] = [];
  status: Record<string, unknown> = {};
  rtcConfiguration: RTCConfiguration = {};
  isJoined = false;
  private ws: WebSocket | undefined;
  private creds: Credentials = {};
  private stopped = true;
  private attempts = 0;
  private lastHeard = 0;
  private keepalive: ReturnType<typeof setInterval> | undefined;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  /** What the user publishes, by label; republished after a reconnect. */
  private readonly published = new Map<string, MediaStream>();
  /** Ask for the low simulcast layer (`video-low`) instead of the first one. */
  private lowBandwidth = false;
  /** The send cap for our video, in bits per second (undefined: no cap). */
  private maxVideoBitrate: number | undefined;

  constructor(
    private readonly endpoint: string,
    readonly group: string,
    private readonly ev: ConnectionEvents,
  ) {}

  /** Opens the socket and joins with these credentials; reconnects until close() or a fatal failure. */
  connect(creds: Credentials): void {
    this.creds = creds;
    this.stopped = false;
    this.attempts = 0;
    this.open();
  }

  /** Leaves for good (no reconnect). */
  close(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.published.clear();
    this.teardown();
    this.ev.state({ kind: 'disconnected' });
  }

  send(m: Message): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(m));
  }

  sendChat(text: string): void {
    this.send({ type: 'chat', source: this.id, username: this.username, kind: '', value: text });
  }

  /** Merges `value` into our user data (null deletes a key): raise hand is `{raisehand: true | null}`. */
  setData(value: Record<string, unknown>): void {
    this.send({ type: 'useraction', kind: 'setdata', source: this.id, username: this.username, dest: this.id, value });
  }

  /** A `useraction` (op-only kinds such as `kick`, whose value is the message) aimed at another user. */
  userAction(kind: string, dest: string, value?: unknown): void {
    this.send({ type: 'useraction', kind, source: this.id, username: this.username, dest, value });
  }

  /** A `groupaction` (`lock` with its message, `unlock`, `record`, `unrecord`...). */
  groupAction(kind: string, value?: unknown): void {
    this.send({ type: 'groupaction', kind, source: this.id, username: this.username, value });
  }

  /** A `usermessage` to one user (`mute` asks a presenter to turn its microphone off, as Galène's client does). */
  userMessage(kind: string, dest: string, value?: unknown): void {
    this.send({ type: 'usermessage', kind, source: this.id, username: this.username, dest, value, noecho: true });
  }

  get isLowBandwidth(): boolean {
    return this.lowBandwidth;
  }

  /** Switches between the full video and the low layer (`video-low`), telling the server at once if joined. */
  setLowBandwidth(on: boolean): void {
    this.lowBandwidth = on;
    if (this.isJoined) this.sendRequest();
  }

  private sendRequest(): void {
    this.send({ type: 'request', request: { '': ['audio', this.lowBandwidth ? 'video-low' : 'video'] } });
  }

  get videoBitrateCap(): number | undefined {
    return this.maxVideoBitrate;
  }

  /** Caps the video we send (every up stream, now and later); undefined lifts the cap. */
  async setMaxVideoBitrate(bps: number | undefined): Promise<void> {
    this.maxVideoBitrate = bps;
    await Promise.all([...this.up.values()].map((s) => s.setMaxBitrate(bps)));
  }

  /** Publishes `stream` under `label`, replacing what was published there; null (or no tracks) stops it. */
  publish(label: string, stream: MediaStream | null): void {
    if (stream && stream.getTracks().length > 0) this.published.set(label, stream);
    else this.published.delete(label);
    if (this.isJoined) this.syncUp(label);
  }

  private syncUp(label: string): void {
    const old = [...this.up.values()].find((s) => s.label === label);
    // The server ends a replaced stream once its successor is forwarded; if `old` goes before that, the stream
    // it was replacing would live on: end it ourselves (closing an ended stream is a no-op on the server).
    if (old?.replaces) this.send({ type: 'close', id: old.replaces });
    const stream = this.published.get(label);
    if (!stream || !this.permissions.includes('present')) {
      if (old) {
        this.up.delete(old.id);
        old.close();
        this.send({ type: 'close', id: old.id });
      }
      return;
    }
    const s = new UpStream(
      label,
      stream,
      { source: this.id, username: this.username },
      this.rtcConfiguration,
      (m) => this.send(m),
      () => this.ev.streams(),
      old?.id,
      this.maxVideoBitrate,
    );
    this.up.set(s.id, s);
    // The server ends the replaced stream itself once receivers have been offered the new one.
    if (old) {
      this.up.delete(old.id);
      old.close();
    }
    s.negotiate().catch((err: unknown) => this.ev.notice('error', String(err)));
    this.ev.streams();
  }

  private open(): void {
    this.teardown();
    this.ev.state({ kind: this.attempts === 0 ? 'connecting' : 'reconnecting' });
    this.id = randomId();
    const ws = new WebSocket(this.endpoint);
    this.ws = ws;
    ws.onopen = () => {
      this.lastHeard = Date.now();
      this.send({ type: 'handshake', version: ['2'], id: this.id });
      this.keepalive = setInterval(() => this.checkAlive(), 5_000);
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      this.lastHeard = Date.now();
      let m: Message;
      try {
        m = JSON.parse(String(e.data)) as Message;
      } catch {
        return;
      }
      this.dispatch(m).catch((err: unknown) => this.ev.notice('error', String(err)));
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      // Said before the streams go, so that the page shows a reconnect rather than an end.
      if (!this.stopped) this.ev.state({ kind: 'reconnecting', shutdown: e.code === 1001 });
      this.teardown();
      if (this.stopped) return;
      this.attempts++;
      const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** Math.min(this.attempts, 5));
      this.retryTimer = setTimeout(() => this.open(), delay);
    };
  }

  private checkAlive(): void {
    const quiet = Date.now() - this.lastHeard;
    if (quiet > GIVE_UP_AFTER_MS) this.ws?.close();
    else if (quiet > PING_AFTER_MS) this.send({ type: 'ping' });
  }

  /** Drops the socket and every stream (the server forgets them with the socket). */
  private teardown(): void {
    clearInterval(this.keepalive);
    this.keepalive = undefined;
    const ws = this.ws;
    this.ws = undefined;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close();
    for (const s of this.down.values()) s.close();
    for (const s of this.up.values()) s.close();
    this.down.clear();
    this.up.clear();
    this.users.clear();
    this.isJoined = false;
    this.ev.users();
    this.ev.streams();
  }

  private fail(reason: string, error?: string): void {
    this.stopped = true;
    this.teardown();
    this.ev.state({ kind: 'failed', reason, error });
  }

  private async dispatch(m: Message): Promise<void> {
    switch (m.type) {
      case 'handshake':
        if (!m.version?.includes('2')) return this.fail('protocol version 2 is not supported by the server');
        this.send({
          type: 'join',
          kind: 'join',
          group: this.group,
          username: this.creds.username,
          password: this.creds.password,
          token: this.creds.token,
        });
        return;
      case 'ping':
        return this.send({ type: 'pong' });
      case 'pong':
        return;
      case 'joined':
        return this.gotJoined(m);
      case 'user':
        return this.gotUser(m);
      case 'chat':
      case 'chathistory':
        if (typeof m.value !== 'string') return;
        this.ev.chat({
          id: m.id,
          source: m.source,
          username: m.username,
          time: m.time,
          kind: m.kind,
          value: m.value,
          privileged: !!m.privileged,
          history: m.type === 'chathistory',
          dest: m.dest,
        });
        return;
      case 'usermessage':
        return this.gotUserMessage(m);
      case 'offer':
        return this.gotDownOffer(m);
      case 'answer':
        await this.up.get(m.id ?? '')?.gotAnswer(m.sdp ?? '');
        return;
      case 'ice': {
        if (!m.candidate) return;
        const s = this.up.get(m.id ?? '') ?? this.down.get(m.id ?? '');
        await s?.gotIce(m.candidate);
        return;
      }
      case 'renegotiate':
        await this.up.get(m.id ?? '')?.negotiate(true);
        return;
      case 'close': {
        const s = this.down.get(m.id ?? '');
        if (s) {
          this.down.delete(s.id);
          s.close();
        }
        return;
      }
      case 'abort': {
        const s = this.up.get(m.id ?? '');
        if (s) {
          this.up.delete(s.id);
          s.close();
          this.published.delete(s.label);
        }
        return;
      }
      default:
        return;
    }
  }

  private gotJoined(m: Message): void {
    switch (m.kind) {
      case 'fail':
        return this.fail(typeof m.value === 'string' && m.value ? m.value : (m.error ?? 'join failed'), m.error);
      case 'redirect':
        this.stopped = true;
        this.teardown();
        if (typeof m.value === 'string') window.location.href = m.value;
        return;
      case 'leave':
        this.stopped = true;
        this.teardown();
        this.ev.state({ kind: 'disconnected' });
        return;
      case 'join':
      case 'change': {
        const first = !this.isJoined;
        this.isJoined = true;
        this.attempts = 0;
        this.username = m.username ?? this.username;
        this.permissions = m.permissions ?? [];
        this.status = m.status ?? {};
        if (m.rtcConfiguration) this.rtcConfiguration = m.rtcConfiguration;
        if (first) {
          this.ev.state({ kind: 'connected' });
          this.sendRequest();
        }
        this.ev.joined();
        // Publish (again) what we were publishing, or stop if we lost `present`.
        for (const label of new Set([...this.published.keys(), ...[...this.up.values()].map((s) => s.label)])) {
          const current = [...this.up.values()].find((s) => s.label === label);
          const wanted = this.published.get(label);
          if (!current || !wanted || !this.permissions.includes('present')) this.syncUp(label);
        }
        return;
      }
      default:
        return;
    }
  }

  private gotUser(m: Message): void {
    const id = m.id ?? '';
    if (m.kind === 'delete') this.users.delete(id);
    else if (m.kind === 'add' || m.kind === 'change') {
      this.users.set(id, {
        id,
        username: m.username ?? '',
        permissions: m.permissions ?? [],
        data: m.data ?? {},
      });
    }
    this.ev.users();
  }

  private gotUserMessage(m: Message): void {
    const text = typeof m.value === 'string' ? m.value : '';
    switch (m.kind) {
      case 'kicked':
        return this.fail(text || 'kicked', `kicked:${m.username ?? ''}`);
      case 'error':
        return this.ev.notice('error', text);
      case 'warning':
        if (m.privileged) this.ev.notice('warning', text);
        return;
      case 'info':
        return this.ev.notice('info', text);
      case 'mute':
        if (m.privileged) this.ev.muted?.(m.username ?? '');
        return;
      default:
        return;
    }
  }

  private async gotDownOffer(m: Message): Promise<void> {
    const id = m.id ?? '';
    if (m.replace) {
      const old = this.down.get(m.replace);
      this.down.delete(m.replace);
      old?.close();
    }
    let s = this.down.get(id);
    if (!s) {
      s = new DownStream(
        id,
        m.label ?? '',
        m.source ?? '',
        m.username ?? '',
        this.rtcConfiguration,
        (msg) => this.send(msg),
        () => this.ev.streams(),
      );
      this.down.set(id, s);
      this.ev.streams();
    }
    try {
      await s.gotOffer(m.sdp ?? '');
    } catch (err) {
      this.down.delete(id);
      s.close();
      this.send({ type: 'abort', id });
      this.ev.notice('error', `cannot accept stream: ${String(err)}`);
    }
  }
}
