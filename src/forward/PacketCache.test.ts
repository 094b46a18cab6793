import { describe, expect, it } from 'vitest';
import { PacketCache } from './PacketCache.js';

describe('PacketCache', () => {
  it('stores and finds packets by sequence number', () => {
    const c = new PacketCache<string>(8);
    expect(c.put(10, 'a')).toBe(true);
    expect(c.put(11, 'b')).toBe(true);
    expect(c.get(10)).toBe('a');
    expect(c.get(11)).toBe('b');
    expect(c.get(12)).toBeUndefined();
    expect(c.newestSeq).toBe(11);
  });

  it('refuses duplicates', () => {
    const c = new PacketCache<string>(8);
    c.put(5, 'a');
    expect(c.put(5, 'again')).toBe(false);
    expect(c.get(5)).toBe('a');
  });

  it('keeps working across the uint16 wrap', () => {
    const c = new PacketCache<number>(8);
    for (let s = 65530; s < 65536 + 4; s++) c.put(s & 0xffff, s);
    expect(c.newestSeq).toBe(3);
    for (let s = 65532; s < 65536 + 4; s++) expect(c.get(s & 0xffff)).toBe(s);
    expect(c.get(65530)).toBeUndefined(); // evicted (8 slots)
    expect(c.get(65531)).toBeUndefined();
  });

  it('accepts a late packet inside the window, even across the wrap', () => {
    const c = new PacketCache<string>(8);
    c.put(65534, 'x');
    c.put(1, 'y'); // 65535 and 0 missing
    expect(c.put(65535, 'late')).toBe(true);
    expect(c.get(65535)).toBe('late');
    expect(c.newestSeq).toBe(1);
  });

  it('refuses a packet older than the window instead of evicting a newer one', () => {
    const c = new PacketCache<string>(8);
    for (let s = 100; s < 110; s++) c.put(s, `p${s}`);
    expect(c.put(100, 'stale')).toBe(false); // slot 100&7 holds 108
    expect(c.get(108)).toBe('p108');
    expect(c.get(100)).toBeUndefined();
  });

  it('does not return a packet from a previous cycle of the same slot', () => {
    const c = new PacketCache<string>(8);
    c.put(0, 'old');
    for (let s = 1; s <= 40; s++) c.put(s, `p${s}`);
    expect(c.get(0)).toBeUndefined();
    expect(c.get(33)).toBe('p33');
    expect(c.get(32)).toBeUndefined(); // 8 behind the newest: out of the window
  });

  it('clears', () => {
    const c = new PacketCache<string>(8);
    c.put(1, 'a');
    c.clear();
    expect(c.get(1)).toBeUndefined();
    expect(c.newestSeq).toBe(-1);
  });

  it('rejects a size that is not a power of two', () => {
    expect(() => new PacketCache(500)).toThrow(RangeError);
  });
});
