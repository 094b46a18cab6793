import { describe, expect, it } from 'vitest';
import { add16, add32, diff16, diff32, newer16, SeqUnwrapper } from './seq.js';

describe('uint16 sequence arithmetic', () => {
  it.each([
    [65535, 1, 0],
    [65535, 2, 1],
    [0, -1, 65535],
    [100, -200, 65436],
    [32768, 32768, 0],
  ])('add16(%i, %i) = %i', (a, b, want) => {
    expect(add16(a, b)).toBe(want);
  });

  it.each([
    [0, 65535, 1],
    [65535, 0, -1],
    [5, 65530, 11],
    [65530, 5, -11],
    [1000, 1000, 0],
    [32767, 0, 32767],
    [32768, 0, -32768],
    [0, 32768, -32768],
  ])('diff16(%i, %i) = %i', (a, b, want) => {
    expect(diff16(a, b)).toBe(want);
  });

  it('orders across the wrap', () => {
    expect(newer16(0, 65535)).toBe(true);
    expect(newer16(65535, 0)).toBe(false);
    expect(newer16(10, 10)).toBe(false);
  });
});

describe('uint32 timestamp arithmetic', () => {
  it.each([
    [0xffffffff, 1, 0],
    [0xfffffff0, 0x20, 0x10],
    [0, -1, 0xffffffff],
  ])('add32(%i, %i) = %i', (a, b, want) => {
    expect(add32(a, b)).toBe(want);
  });

  it.each([
    [0, 0xffffffff, 1],
    [0xffffffff, 0, -1],
    [3000, 0xfffff448, 6000],
    [0x7fffffff, 0, 0x7fffffff],
    [0x80000000, 0, -0x80000000],
  ])('diff32(%i, %i) = %i', (a, b, want) => {
    expect(diff32(a, b)).toBe(want);
  });
});

describe('SeqUnwrapper', () => {
  it('counts cycles across the wrap and places late packets behind', () => {
    const u = new SeqUnwrapper();
    expect(u.unwrap(65534)).toBe(65534);
    expect(u.unwrap(65535)).toBe(65535);
    expect(u.unwrap(0)).toBe(65536);
    expect(u.unwrap(65533)).toBe(65533); // late, before the wrap
    expect(u.unwrap(2)).toBe(65538);
    expect(u.max).toBe(65538);
    expect(u.unwrap(1)).toBe(65537); // late, after the wrap
    expect(u.max).toBe(65538);
  });
});
