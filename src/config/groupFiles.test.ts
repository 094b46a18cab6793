import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isValidGroupName, parentGroupName, scanGroupFiles } from './groupFiles.js';

describe('isValidGroupName', () => {
  it.each([
    ['lecture', true],
    ['a/b', true],
    ['a/b/c', true],
    ['with space', true],
    ['a.b', true],
    ['a/.b', true],
    ['', false],
    ['/a', false],
    ['a/', false],
    ['.hidden', false],
    ['a\\b', false],
    ['a/./b', false],
    ['a/../b', false],
    ['a//b', false],
    ['a/..', false],
    ['..', false],
  ])('%j -> %s', (name, ok) => {
    expect(isValidGroupName(name)).toBe(ok);
  });
});

describe('parentGroupName', () => {
  it.each([
    ['a/b/c', 'a/b'],
    ['a/b', 'a'],
    ['a', undefined],
  ])('%j -> %j', (name, parent) => {
    expect(parentGroupName(name)).toBe(parent);
  });
});

describe('scanGroupFiles', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('finds json files recursively and skips dot entries and other files', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'lectern-scan-'));
    dirs.push(dir);
    fs.mkdirSync(path.join(dir, 'a/b'), { recursive: true });
    fs.mkdirSync(path.join(dir, '.git'));
    for (const f of ['top.json', 'a/b.json', 'a/b/c.json', '.x.json', '.git/y.json', 'notes.txt', 'a/b/c.json.temp']) {
      fs.writeFileSync(path.join(dir, f), '{}');
    }
    const names = scanGroupFiles(dir)
      .map((f) => f.name)
      .sort();
    expect(names).toEqual(['a/b', 'a/b/c', 'top']);
  });

  it('gives an empty list for a missing folder', () => {
    expect(scanGroupFiles(path.join(os.tmpdir(), 'lectern-does-not-exist-' + process.pid))).toEqual([]);
  });
});
