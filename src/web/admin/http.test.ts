import { describe, expect, it } from 'vitest';
import { etagMatches } from './http.js';
import { splitPath } from './router.js';

describe('etagMatches', () => {
  it.each([
    ['"1-2"', '"1-2"', true],
    ['"1-2"', 'W/"1-2"', true],
    ['"1-2"', '"0-0", "1-2"', true],
    ['"1-2"', '"1-3"', false],
    ['"1-2"', '*', true],
    ['', '*', false],
    ['', '""', false],
    ['"1-2"', 'garbage', false],
  ])('%s against %s: %s', (etag, header, ok) => {
    expect(etagMatches(etag, header)).toBe(ok);
  });
});

describe('splitPath', () => {
  it.each([
    ['/v0/.groups/', ['/v0', '.groups', '/']],
    ['/a/b/.users/x/.password', ['/a/b', '.users', '/x/.password']],
    ['/a/b', ['/a/b', '', '']],
    ['/a/.keys', ['/a', '.keys', '']],
    ['/', ['/', '', '']],
  ])('%s', (p, parts) => {
    expect(splitPath(p)).toEqual(parts);
  });
});
