import { realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, sep } from 'node:path';
import { LecternError } from '../../errors.js';

/**
 * Resolves `rel` (a path relative to the recordings folder, as jobs carry them) to an absolute path inside
 * `root`, or throws LecternError 'path-outside-recordings'. Refused: empty, absolute, NUL, backslashes,
 * any `..` segment, and anything whose existing part resolves (through symlinks) outside the folder.
 * A path that does not exist yet (an output) is checked through its nearest existing ancestor.
 */
export async function resolveInRecordings(root: string, rel: unknown): Promise<string> {
  const refuse = (why: string) =>
    new LecternError('path-outside-recordings', `refused path ${JSON.stringify(rel)}: ${why}`);
  if (typeof rel !== 'string' || rel === '') throw refuse('not a non-empty string');
  if (rel.includes('\0')) throw refuse('contains NUL');
  if (rel.includes('\\')) throw refuse('contains a backslash');
  if (isAbsolute(rel)) throw refuse('absolute');
  if (rel.split('/').includes('..')) throw refuse('contains ..');
  const rootReal = await realpath(root);
  const target = join(rootReal, rel);
  if (!inside(rootReal, target)) throw refuse('outside the recordings folder');
  // The deepest part that exists decides where symlinks really lead.
  let existing = target;
  let suffix = '';
  for (;;) {
    try {
      const real = await realpath(existing);
      if (!inside(rootReal, real) && real !== rootReal) throw refuse('leads outside the recordings folder');
      return suffix ? join(real, suffix) : real;
    } catch (err) {
      if (err instanceof LecternError) throw err;
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw refuse(`cannot resolve (${(err as Error).message})`);
      const parent = dirname(existing);
      if (parent === existing) throw refuse('cannot resolve');
      suffix = suffix ? join(existing.slice(parent.length + 1), suffix) : existing.slice(parent.length + 1);
      existing = parent;
    }
  }
}

function inside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r !== '' && !r.startsWith('..' + sep) && r !== '..' && !isAbsolute(r);
}
