import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// A cheap stand-in for "a fresh clone's npm ci leaves git status clean": npm ci refuses a lock whose root
// dependencies differ from package.json's, and a postinstall that writes tracked files would dirty the tree.
const root = path.resolve(import.meta.dirname, '..');
const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));

describe('reproducible installs', () => {
  it("the lock file's root dependencies are exactly package.json's", () => {
    expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
    expect(lock.packages[''].devDependencies).toEqual(pkg.devDependencies);
    for (const name of [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)]) {
      expect(lock.packages[`node_modules/${name}`], name).toBeDefined();
    }
  });

  it('werift is pinned exactly (the code patches its internals) and nothing unused is declared', () => {
    expect(pkg.dependencies.werift).toBe('0.24.4');
    expect(lock.packages['node_modules/werift'].version).toBe('0.24.4');
    expect(pkg.dependencies['fluent-ffmpeg']).toBeUndefined();
  });

  it('postinstall leaves every tracked file as it is', () => {
    const status = () => execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' });
    const before = status();
    execFileSync('node', ['scripts/patch-werift.mjs'], { cwd: root, stdio: 'ignore' });
    expect(status()).toBe(before);
  });
});
