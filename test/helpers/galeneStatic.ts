import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where a bare mirror of jech/galene lives on the development machines. */
const DEFAULT_MIRROR = '/work/.mirror/jech+galene/repo';

/** How a developer provides Galène's client when findGaleneStatic() finds nothing. */
export const GALENE_STATIC_HINT =
  "Galène's web client was not found: set GALENE_STATIC=/path/to/galene/static (a folder holding galene.html), " +
  'or GALENE_GIT=/path/to/a/galene.git (a bare clone of https://github.com/jech/galene).';

const hasClient = (dir: string): boolean => fs.existsSync(path.join(dir, 'galene.html'));

/**
 * The folder of Galène's own web client (the `static/` folder of jech/galene, never committed here), or undefined.
 * In order: $GALENE_STATIC if it holds galene.html; else `static/` extracted from a bare git repository
 * ($GALENE_GIT, else the local mirror) into os.tmpdir()/lectern-galene-static, reused when already there.
 */
export function findGaleneStatic(): string | undefined {
  const fromEnv = process.env.GALENE_STATIC;
  if (fromEnv) {
    if (hasClient(fromEnv)) return path.resolve(fromEnv);
    console.warn(`GALENE_STATIC=${fromEnv} holds no galene.html; looking for a git repository instead`);
  }

  const target = path.join(os.tmpdir(), 'lectern-galene-static');
  const extracted = path.join(target, 'static');
  if (hasClient(extracted)) return extracted;

  for (const repo of [process.env.GALENE_GIT, DEFAULT_MIRROR]) {
    if (!repo || !fs.existsSync(repo)) continue;
    const dir = extract(repo, target);
    if (dir) return dir;
  }
  return undefined;
}

/** `git archive HEAD static | tar -x` into a scratch folder, then renamed into place (safe against a concurrent run). */
function extract(gitDir: string, target: string): string | undefined {
  const archive = spawnSync('git', [`--git-dir=${gitDir}`, 'archive', '--format=tar', 'HEAD', 'static'], {
    maxBuffer: 256 * 1024 * 1024,
  });
  if (archive.status !== 0) {
    console.warn(`git archive failed in ${gitDir}: ${archive.stderr?.toString().trim() ?? archive.error}`);
    return undefined;
  }
  const scratch = fs.mkdtempSync(`${target}-tmp-`);
  try {
    const untar = spawnSync('tar', ['-x', '-C', scratch], { input: archive.stdout });
    if (untar.status !== 0 || !hasClient(path.join(scratch, 'static'))) {
      console.warn(`could not extract Galène's static folder from ${gitDir}: ${untar.stderr?.toString().trim()}`);
      return undefined;
    }
    try {
      fs.renameSync(scratch, target);
    } catch {
      // Someone else got there first (or a stale, incomplete folder is in the way).
      if (!hasClient(path.join(target, 'static'))) {
        fs.rmSync(target, { recursive: true, force: true });
        fs.renameSync(scratch, target);
      }
    }
    return path.join(target, 'static');
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}
