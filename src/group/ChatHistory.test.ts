import { describe, expect, it } from 'vitest';
import { ChatHistory, MAX_CHAT_HISTORY, type ChatEntry } from './ChatHistory.js';

const entry = (i: number, source = 'a', time = new Date()): ChatEntry => ({
  id: `m${i}`, source, username: source, time, kind: '', value: `hello ${i}`,
});

describe('ChatHistory', () => {
  it('keeps only the last 50 entries', () => {
    const h = new ChatHistory(14400);
    for (let i = 0; i < MAX_CHAT_HISTORY + 7; i++) h.add(entry(i));
    const list = h.list();
    expect(list).toHaveLength(MAX_CHAT_HISTORY);
    expect(list[0]!.id).toBe('m7');
    expect(list.at(-1)!.id).toBe(`m${MAX_CHAT_HISTORY + 6}`);
  });

  it('drops entries older than max-history-age', () => {
    const h = new ChatHistory(60);
    const now = new Date('2026-01-01T12:00:00Z');
    h.add(entry(1, 'a', new Date(now.getTime() - 61_000)));
    h.add(entry(2, 'a', new Date(now.getTime() - 59_000)));
    expect(h.list(now).map((e) => e.id)).toEqual(['m2']);
  });

  it.each([
    { name: 'everything', id: undefined, userId: undefined, left: [] },
    { name: 'one user', id: undefined, userId: 'a', left: ['m2'] },
    { name: 'one message', id: 'm3', userId: 'a', left: ['m1', 'm2'] },
  ])('clears $name', ({ id, userId, left }) => {
    const h = new ChatHistory(14400);
    h.add(entry(1, 'a'));
    h.add(entry(2, 'b'));
    h.add(entry(3, 'a'));
    h.clear(id, userId);
    expect(h.list().map((e) => e.id)).toEqual(left);
  });
});
