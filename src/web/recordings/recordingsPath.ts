import { lstat, realpath } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { isValidGroupName } from '../../config/groupFiles.js';
import { LecternError } from '../../errors.js';

/**
 * What a request under /recordings/ asks for. `file` is relative to the group's folder: a plain name, or
 * `<name>.hls/<segment>` (the HLS replay's playlist and segments).
 */
export type RecordingsRequest =
  | { kind: 'folder'; group: string }
  | { kind: 'file'; group: string; file: string }
  | { kind: 'no-slash'; group: string };

/** Thrown for a path that is malformed (400) or that leads where it may not (403). */
export class RecordingsPathError extends LecternError {
  constructor(
    code: 'recordings-bad-path' | 'recordings-outside',
    message: string,
    readonly status: 400 | 403,
  ) {
    super(code, message);
  }
}

const bad = (why: string) => new RecordingsPathError('recordings-bad-path', `bad path: ${why}`, 400);

/**
 * Splits `rawPath` (the still-encoded path after "/recordings/") into a group and a file. `groupExists`
 * decides between a group whose name contains `/` and a file in its parent. Refused (400): encoded slashes,
 * backslashes or NUL, any backslash or NUL once decoded, bad percent-encoding, empty, `.` and `..` segments
 * (which also rules out absolute paths: they would start with an empty segment).
 */
export function parseRecordingsPath(rawPath: string, groupExists: (group: string) => boolean): RecordingsRequest {
  if (/%2f|%5c|%00/i.test(rawPath)) throw bad('encoded slash, backslash or NUL');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw bad('malformed percent-encoding');
  }
  if (path.includes('\\') || path.includes('\0')) throw bad('backslash or NUL');
  const segments = path.split('/');
  const folder = segments.at(-1) === '';
  if (folder) segments.pop();
  if (segments.length === 0) throw bad('no group');
  for (const s of segments) {
    if (s === '') throw bad('empty segment');
    if (s === '.' || s === '..') throw bad('dot segment');
  }
  const name = (parts: string[]) => parts.join('/');
  if (folder) {
    const group = name(segments);
    if (!isValidGroupName(group)) throw bad('invalid group name');
    return { kind: 'folder', group };
  }
  const n = segments.length;
  if (n >= 3 && segments[n - 2]!.endsWith('.hls')) {
    const group = name(segments.slice(0, -2));
    if (isValidGroupName(group) && groupExists(group)) return { kind: 'file', group, file: name(segments.slice(-2)) };
  }
  const whole = name(segments);
  if (isValidGroupName(whole) && groupExists(whole)) return { kind: 'no-slash', group: whole };
  if (n < 2) throw bad('no file name');
  const group = name(segments.slice(0, -1));
  if (!isValidGroupName(group)) throw bad('invalid group name');
  return { kind: 'file', group, file: segments[n - 1]! };
}

/** Hidden from listings and never served: dotfiles (the jobs' temp files) and other temp names. */
export function isHiddenName(name: string): boolean {
  return name.startsWith('.') || /(\.tmp|\.part|\.partial|~)$/i.test(name);
}

function strictlyInside(root: string, p: string): boolean {
  const r = relative(root, p);
  return r !== '' && r !== '..' && !r.startsWith('..' + sep) && !isAbsolute(r);
}

/**
 * The real path of a group's recordings folder, or undefined if it does not exist. The folder must really
 * be `<recordings>/<group>`: a group folder (or a parent of it) that is a symlink is refused (403), so a
 * group can never see another place's files.
 */
export async function groupFolder(recordingsDir: string, group: string): Promise<string | undefined> {
  const root = await realpath(recordingsDir);
  const expected = join(root, group);
  let real: string;
  try {
    real = await realpath(expected);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') {
      return undefined;
    }
    throw err;
  }
  if (real !== expected || !strictlyInside(root, real)) {
    throw new RecordingsPathError('recordings-outside', 'refused: the group folder is a link', 403);
  }
  const st = await lstat(real);
  return st.isDirectory() ? real : undefined;
}

/**
 * The real path of a regular file `rel` inside the group folder `folderReal`, or undefined when there is
 * no such file. Symlinks are followed only when they stay inside that folder (403 otherwise); hidden names
 * are treated as missing.
 */
export async function fileInFolder(folderReal: string, rel: string): Promise<string | undefined> {
  const parts = rel.split('/');
  if (parts.some((p) => p === '' || p === '.' || p === '..' || isHiddenName(p))) return undefined;
  let real: string;
  try {
    real = await realpath(join(folderReal, rel));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP') return undefined;
    throw err;
  }
  if (!strictlyInside(folderReal, real)) {
    throw new RecordingsPathError('recordings-outside', 'refused: the file leads outside the group folder', 403);
  }
  const st = await lstat(real);
  return st.isFile() ? real : undefined;
}
