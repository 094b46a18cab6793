import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { corkedSend } from './corkedSend.js';

const nextTurn = () => new Promise<void>((r) => setImmediate(r));

/** A Writable that records each batch the stream hands to the sink (one batch = one socket write). */
function recordingSink() {
  const batches: string[][] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      batches.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      batches.push(chunks.map((c) => String(c.chunk)));
      cb();
    },
  });
  return { sink, batches };
}

describe('corkedSend', () => {
  it('hands everything sent in one turn to the socket as one write, in order', async () => {
    const { sink, batches } = recordingSink();
    const send = corkedSend(sink, (t) => sink.write(t));
    send('a');
    send('b');
    send('c');
    expect(batches).toEqual([]); // held until the turn ends
    expect(sink.writableCorked).toBe(1);
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c']]);
    expect(sink.writableCorked).toBe(0);
    send('d');
    await nextTurn();
    send('e');
    send('f');
    await nextTurn();
    expect(batches).toEqual([['a', 'b', 'c'], ['d'], ['e', 'f']]);
  });

  it('nests with a sender that corks and uncorks around each message itself, as ws does', async () => {
    const { sink, batches } = recordingSink();
    const send = corkedSend(sink, (t) => {
      sink.cork();
      sink.write(`${t}:header`);
      sink.write(`${t}:payload`);
      process.nextTick(() => sink.uncork());
    });
    send('x');
    send('y');
    await nextTurn();
    expect(batches).toEqual([['x:header', 'x:payload', 'y:header', 'y:payload']]);
  });

  it('does not cork a socket that has ended or been destroyed', async () => {
    const { sink } = recordingSink();
    const sent: string[] = [];
    const send = corkedSend(sink, (t) => sent.push(t));
    sink.end();
    send('late');
    expect(sink.writableCorked).toBe(0);
    const other = recordingSink().sink;
    other.destroy();
    corkedSend(other, () => undefined)('late');
    expect(other.writableCorked).toBe(0);
    expect(sent).toEqual(['late']); // what happens to the message is the sender's business, as before
    await nextTurn();
  });

  describe('over a real WebSocket', () => {
    let server: Server | undefined;
    let client: WebSocket | undefined;
    afterEach(async () => {
      client?.terminate();
      await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
      server = undefined;
    });

    it('delivers every message of a turn, as separate frames, in order', async () => {
      const wss = new WebSocketServer({ noServer: true });
      server = createServer();
      const ready = new Promise<(text: string) => void>((resolve) => {
        server!.on('upgrade', (req, socket, head) =>
          wss.handleUpgrade(req, socket, head, (ws) => resolve(corkedSend(socket, (t) => ws.send(t)))),
        );
      });
      await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
      client = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const received: string[] = [];
      const all = new Promise<void>((r) =>
        client!.on('message', (d) => {
          received.push(d.toString());
          if (received.length === 250) r();
        }),
      );
      const send = await ready;
      for (let i = 0; i < 200; i++) send(JSON.stringify({ type: 'user', kind: 'add', id: `c${i}` }));
      await nextTurn();
      for (let i = 200; i < 250; i++) send(JSON.stringify({ type: 'user', kind: 'add', id: `c${i}` }));
      await all;
      expect(received.map((m) => JSON.parse(m).id)).toEqual(Array.from({ length: 250 }, (_, i) => `c${i}`));
    });
  });
});
