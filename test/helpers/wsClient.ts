import { randomBytes } from 'node:crypto';
import WebSocket from 'ws';
import type { Message } from '../../src/signal/messages.js';

/** A bare protocol v2 client for tests: sends and awaits JSON messages on a real WebSocket. */
export class WsClient {
  readonly id = randomBytes(16).toString('hex');
  readonly received: Message[] = [];
  /** Errors thrown by listeners (tests assert there are none). */
  readonly errors: unknown[] = [];
  closeCode: number | undefined;
  closeReason = '';
  private waiters: { pred: (m: Message) => boolean; resolve: (m: Message) => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  private listeners: ((m: Message) => void)[] = [];

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Message;
      // As Galène's client: a client that stays quiet 45 s is dropped by the server, a pong keeps it alive.
      if (m.type === 'ping' && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'pong' }));
      for (const l of this.listeners) l(m);
      this.received.push(m);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(m)) return true;
        w.resolve(m);
        return false;
      });
    });
    ws.on('close', (code, reason) => {
      this.closeCode = code;
      this.closeReason = reason.toString();
      for (const w of this.closeWaiters) w();
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
    const ws = new WebSocket(url, { headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new WsClient(ws);
  }

  /**
   * Connects, handshakes and joins; resolves with the `joined` reply (kind join or fail). On a timeout the
   * socket is closed before the error is thrown.
   */
  static async join(url: string, group: string, username: string, password?: string, timeoutMs = 5000): Promise<{ c: WsClient; joined: Message }> {
    const c = await WsClient.connect(url);
    try {
      await c.handshake(timeoutMs);
      c.send({ type: 'join', kind: 'join', group, username, password });
      const joined = await c.next((m) => m.type === 'joined', timeoutMs);
      return { c, joined };
    } catch (err) {
      c.ws.terminate();
      throw err;
    }
  }

  /** Sees every message as it arrives (they are also kept for `next`). */
  onMessage(listener: (m: Message) => void): void {
    this.listeners.push(listener);
  }

  send(m: Message): void {
    this.ws.send(JSON.stringify(m));
  }

  sendRaw(data: string | Buffer): void {
    this.ws.send(data);
  }

  async handshake(timeoutMs = 5000): Promise<void> {
    this.send({ type: 'handshake', version: ['2'], id: this.id });
    await this.next((m) => m.type === 'handshake', timeoutMs);
  }

  /** The first message, already received or to come, that matches. */
  next(pred: (m: Message) => boolean, timeoutMs = 5000): Promise<Message> {
    const seen = this.received.find(pred);
    if (seen) {
      this.received.splice(this.received.indexOf(seen), 1);
      return Promise.resolve(seen);
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for a message; got ${JSON.stringify(this.received.map((r) => r.type))}`)), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(timer);
          this.received.splice(this.received.indexOf(m), 1);
          resolve(m);
        },
      });
    });
  }

  closed(timeoutMs = 5000): Promise<number> {
    if (this.closeCode !== undefined) return Promise.resolve(this.closeCode);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('socket did not close')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.closeCode!);
      });
    });
  }

  close(): void {
    this.ws.close();
  }
}
