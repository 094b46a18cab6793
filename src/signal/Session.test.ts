import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { GroupRegistry } from '../group/GroupRegistry.js';
import { silentLogger } from '../log.js';
import { Session, type Transport } from './Session.js';

/** A transport that records what the session sends, and how it closed. */
function fakeTransport() {
  const t = {
    sent: [] as Record<string, unknown>[],
    closed: undefined as { code: number; reason: string } | undefined,
    bufferedAmount: 0,
    send(text: string) {
      t.sent.push(JSON.parse(text) as Record<string, unknown>);
    },
    close(code: number, reason: string) {
      t.closed = { code, reason };
    },
  };
  return t satisfies Transport;
}

const deps = {
  registry: { leave: () => undefined } as unknown as GroupRegistry,
  media: { ice: {}, rtcConfiguration: () => ({ iceServers: [] }) },
  log: silentLogger,
};

describe('Session liveness (Galène: handshake within 15 s, ping after 20 s of silence, dropped after 45 s)', () => {
  beforeEach(() => void vi.useFakeTimers());
  afterEach(() => void vi.useRealTimers());

  it('drops a client that never handshakes', () => {
    const t = fakeTransport();
    new Session(t, undefined, deps);
    vi.advanceTimersByTime(14_000);
    expect(t.closed).toBeUndefined();
    vi.advanceTimersByTime(6_000);
    expect(t.closed).toMatchObject({ code: 1000 });
    expect(t.sent).toEqual([]);
  });

  it('pings a silent client, keeps it while it answers, and drops it when it stops', async () => {
    const t = fakeTransport();
    const s = new Session(t, undefined, deps);
    s.receive(JSON.stringify({ type: 'handshake', version: ['2'], id: 'abc' }));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toEqual([{ type: 'handshake', version: ['2'] }]);
    await vi.advanceTimersByTimeAsync(25_000);
    expect(t.sent.filter((m) => m.type === 'ping').length).toBeGreaterThan(0);
    s.receive(JSON.stringify({ type: 'pong' }));
    await vi.advanceTimersByTimeAsync(30_000);
    expect(t.closed).toBeUndefined();
    await vi.advanceTimersByTimeAsync(20_000);
    expect(t.closed).toMatchObject({ code: 1000, reason: 'client is dead' });
  });

  it('answers ping with pong', async () => {
    const t = fakeTransport();
    const s = new Session(t, undefined, deps);
    s.receive(JSON.stringify({ type: 'handshake', version: ['2'], id: 'abc' }));
    s.receive(JSON.stringify({ type: 'ping' }));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent.at(-1)).toEqual({ type: 'pong' });
  });

  it('drops a client that stops reading its messages', async () => {
    const t = fakeTransport();
    const s = new Session(t, undefined, deps);
    s.receive(JSON.stringify({ type: 'handshake', version: ['2'], id: 'abc' }));
    await vi.advanceTimersByTimeAsync(0);
    t.bufferedAmount = 64 << 20;
    s.receive(JSON.stringify({ type: 'ping' }));
    await vi.advanceTimersByTimeAsync(0);
    expect(t.closed).toMatchObject({ code: 1011 });
  });
});
