import path from 'node:path';
import { errorMessage } from '../errors.js';
import type { Logger } from '../log.js';
import { ConfigError, problemText } from './ConfigError.js';
import { isValidGroupName, parentGroupName, scanGroupFiles, type GroupFileStat } from './groupFiles.js';
import { buildGroupDescription, subgroupDescription } from './groupDescription.js';
import { readConfigFile } from './readConfigFile.js';
import { groupFileSchema } from './schema.js';
import type { GroupDescription } from './types.js';

export type { GroupDescription } from './types.js';

export const DEFAULT_GROUP_POLL_MS = 2000;

type ChangeListener = (name: string, desc: GroupDescription | undefined) => void;

interface Entry {
  readonly mtimeMs: number;
  readonly size: number;
  /** The last valid description read from this file, if any. */
  readonly desc: GroupDescription | undefined;
  /** Set while the file on disk is invalid. */
  readonly error: ConfigError | undefined;
}

/**
 * The group files under `groupsDir`, validated and hot-reloaded.
 *
 * Reload: a poll timer (unref'd) compares each file's mtime and size and notices new and deleted files;
 * listeners hear `(name, desc)` for a new or changed group and `(name, undefined)` for a deleted one.
 *
 * Invalid files: reported by `errors()` and logged, never affecting other groups. A file that is invalid
 * from the start gives no group. A file that was valid and becomes invalid KEEPS its last valid
 * description (no change is notified) until it is fixed or deleted: a half-saved or mistyped edit must
 * not tear down a lecture in progress. (Galène drops the group instead.) After a restart only valid
 * files give groups.
 */
export class GroupStore {
  readonly groupsDir: string;
  private readonly log: Logger;
  private readonly pollMs: number;
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<ChangeListener>();
  private readonly report: ((text: string) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  /** `report` is told of each invalid file in plain words, at load and at each change (main: stderr). */
  constructor(opts: { groupsDir: string; log: Logger; pollMs?: number; report?: (text: string) => void }) {
    this.groupsDir = path.resolve(opts.groupsDir);
    this.log = opts.log;
    this.pollMs = opts.pollMs ?? DEFAULT_GROUP_POLL_MS;
    this.report = opts.report;
  }

  /** Scans the folder now (synchronously) and starts polling. Calling it again rescans at once. */
  load(): void {
    if (this.closed) return;
    this.scan();
    if (this.timer === undefined && this.pollMs > 0) {
      this.timer = setInterval(() => this.poll(), this.pollMs);
      this.timer.unref();
    }
  }

  /** The group described by `groups/<name>.json`, if that file is (or was) valid. */
  get(name: string): GroupDescription | undefined {
    return this.entries.get(name)?.desc;
  }

  /**
   * Like get(), but also gives auto-subgroups: for `a/b/c` without a file of its own, the nearest
   * existing ancestor file decides (as in Galène, only that one): if it allows auto-subgroups, the result
   * is its description renamed, non-public and without description text.
   */
  resolve(name: string): GroupDescription | undefined {
    if (!isValidGroupName(name)) return undefined;
    for (let n: string | undefined = name; n !== undefined; n = parentGroupName(n)) {
      const entry = this.entries.get(n);
      if (entry === undefined) continue;
      if (entry.desc === undefined) return undefined;
      if (n === name) return entry.desc;
      return entry.desc.autoSubgroups ? subgroupDescription(entry.desc, name) : undefined;
    }
    return undefined;
  }

  /** Every group with a valid description, sorted by name. */
  list(): GroupDescription[] {
    const out: GroupDescription[] = [];
    for (const e of this.entries.values()) if (e.desc) out.push(e.desc);
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Why `groups/<name>.json` is invalid on disk, if it is. */
  fileError(name: string): ConfigError | undefined {
    return this.entries.get(name)?.error;
  }

  /** The files currently invalid on disk, each naming file, key and reason. */
  errors(): ConfigError[] {
    const out: ConfigError[] = [];
    for (const e of this.entries.values()) if (e.error) out.push(e.error);
    return out.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onChange(cb: ChangeListener): () => void {
    this.listeners.add(cb);
    return () => {
      this.listeners.delete(cb);
    };
  }

  /** Stops polling and drops the listeners. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.listeners.clear();
  }

  private poll(): void {
    if (this.closed) return;
    try {
      this.scan();
    } catch (err) {
      this.log.error({ err }, 'group scan failed');
    }
  }

  private scan(): void {
    const seen = new Set<string>();
    for (const f of scanGroupFiles(this.groupsDir)) {
      seen.add(f.name);
      const prev = this.entries.get(f.name);
      if (prev && prev.mtimeMs === f.mtimeMs && prev.size === f.size) continue;
      this.readOne(f, prev);
    }
    for (const [name, entry] of [...this.entries]) {
      if (seen.has(name)) continue;
      this.entries.delete(name);
      if (entry.desc) {
        this.log.info({ group: name }, 'group removed');
        this.notify(name, undefined);
      }
    }
  }

  private readOne(f: GroupFileStat, prev: Entry | undefined): void {
    const stamp = { mtimeMs: f.mtimeMs, size: f.size };
    try {
      if (!isValidGroupName(f.name)) throw new ConfigError(f.file, '', `invalid group name ${JSON.stringify(f.name)}`);
      const input = readConfigFile(f.file, groupFileSchema);
      const { value: desc, warnings } = buildGroupDescription(input, { name: f.name, file: f.file, ...stamp });
      for (const w of warnings) this.log.warn({ group: f.name, file: f.file }, w);
      this.entries.set(f.name, { ...stamp, desc, error: undefined });
      this.log.info({ group: f.name }, prev?.desc ? 'group reloaded' : 'group loaded');
      this.notify(f.name, desc);
    } catch (err) {
      const error =
        err instanceof ConfigError ? err : new ConfigError(f.file, '', errorMessage(err), { cause: err });
      this.entries.set(f.name, { ...stamp, desc: prev?.desc, error });
      const outcome = prev?.desc ? 'keeping its last valid version' : 'the group is not available';
      this.log.warn({ group: f.name, file: error.file, problems: error.problems }, `invalid group file, ${outcome}`);
      const n = error.problems.length;
      this.report?.(
        `group file ${error.file} has ${n === 1 ? 'an error' : `${n} errors`} (${outcome}):\n` +
          error.problems.map((p) => `  ${problemText(p)}\n`).join(''),
      );
    }
  }

  private notify(name: string, desc: GroupDescription | undefined): void {
    for (const cb of [...this.listeners]) {
      try {
        cb(name, desc);
      } catch (err) {
        this.log.error({ err, group: name }, 'group change listener failed');
      }
    }
  }
}
