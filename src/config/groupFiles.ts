import fs from 'node:fs';
import path from 'node:path';

/**
 * Group names follow Galène's rules: not empty, no leading or trailing `/`, no leading `.`, no backslash,
 * and no empty, `.` or `..` segment (so no `//`, `/./` or `/../`).
 */
export function isValidGroupName(name: string): boolean {
  if (name === '' || name.startsWith('/') || name.endsWith('/') || name.startsWith('.')) return false;
  if (name.includes('\\') || name.includes('\0')) return false;
  return name.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

/** The parent of a hierarchical group name (`a/b/c` -> `a/b`), or undefined at the top. */
export function parentGroupName(name: string): string | undefined {
  const i = name.lastIndexOf('/');
  return i > 0 ? name.slice(0, i) : undefined;
}

export interface GroupFileStat {
  /** Group name derived from the path (`a/b.json` -> `a/b`); not validated here. */
  readonly name: string;
  /** Absolute path. */
  readonly file: string;
  readonly mtimeMs: number;
  readonly size: number;
}

/**
 * Lists `*.json` files below `groupsDir`, recursively. Entries whose name starts with `.` (editor swap
 * files, hidden folders) are skipped, as are symlinked folders; a missing folder gives an empty list.
 */
export function scanGroupFiles(groupsDir: string): GroupFileStat[] {
  const root = path.resolve(groupsDir);
  const out: GroupFileStat[] = [];
  const walk = (dir: string, prefix: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        walk(full, `${prefix}${e.name}/`);
        continue;
      }
      if (!e.name.endsWith('.json') || !(e.isFile() || e.isSymbolicLink())) continue;
      let st: fs.Stats;
      try {
        st = fs.statSync(full);
      } catch {
        continue; // vanished meanwhile, or a dangling link
      }
      if (!st.isFile()) continue;
      out.push({ name: prefix + e.name.slice(0, -'.json'.length), file: full, mtimeMs: st.mtimeMs, size: st.size });
    }
  };
  walk(root, '');
  return out;
}
