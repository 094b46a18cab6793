import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../log.js';
import { corkedSend } from './corkedSend.js';
import { MAX_FRAME_BYTES } from './messages.js';
import { Session, type SessionDeps } from './Session.js';

export interface SignalServerOptions {
  /** Origins allowed besides the request's own host (config.json `allowOrigin`). */
  allowOrigin(): readonly string[];
  /** The base URL a request reached us at (proxyURL, or its scheme and Host). */
  baseUrl(req: IncomingMessage): URL;
  deps: Omit<SessionDeps, 'origin'>;
  log: Logger;
}

/** Galène's Origin rule: the Origin must name the Host the request was sent to, or be listed in allowOrigin. */
export function originAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (!origin) return true; // non-browser clients send none
  if (allowed.includes(origin)) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/** Protocol v2 over WebSocket at /ws: one Session per socket. */
export class SignalServer {
  private readonly wss: WebSocketServer;
  readonly sessions = new Set<Session>();

  constructor(private readonly opts: SignalServerOptions) {
    this.wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  }

  attach(server: Server): void {
    server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/ws') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    if (!originAllowed(req.headers.origin, req.headers.host, this.opts.allowOrigin())) {
      this.opts.log.info({ origin: req.headers.origin }, 'WebSocket refused: origin not allowed');
      socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\norigin not allowed\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, req, socket));
  }

  private accept(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const transport = {
      // one socket write per client per event-loop turn (see corkedSend.ts)
      send: corkedSend(socket, (text) => ws.send(text)),
      close: (code: number, reason: string) => {
        ws.close(code, reason.slice(0, 120));
        setTimeout(() => ws.terminate(), 2000).unref();
      },
      get bufferedAmount() {
        return ws.bufferedAmount;
      },
    };
    const address = req.socket.remoteAddress
      ? `${req.socket.remoteAddress}:${req.socket.remotePort}`
      : undefined;
    const session = new Session(transport, address, { ...this.opts.deps, origin: this.opts.baseUrl(req) });
    this.sessions.add(session);
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        session.error('binary frames are not part of the protocol');
        return;
      }
      session.receive(data.toString());
    });
    ws.on('error', (err) => {
      // ws reports an oversized frame as an error and closes with 1009; the other sessions carry on.
      this.opts.log.info({ err: err.message }, 'WebSocket error');
    });
    ws.on('close', () => {
      this.sessions.delete(session);
      session.close();
    });
  }

  close(): void {
    for (const s of this.sessions) s.shutdown();
    this.wss.close();
  }
}
