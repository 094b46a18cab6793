import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../config/ConfigError.js';
import { buildGroupDescription } from '../../config/groupDescription.js';
import { isValidGroupName, scanGroupFiles } from '../../config/groupFiles.js';
import { configErrorFromIssues } from '../../config/readConfigFile.js';
import { groupFileSchema } from '../../config/schema.js';
import { ApiError, isObject } from './http.js';

/** A group file as written on disk (Galène's keys), and its ETag. */
export interface RawGroup {
  readonly file: string;
  readonly data: Record<string, unknown>;
  readonly etag: string;
}

/**
 * Reads and writes `groups/<name>.json` for the admin API. Every write is validated first (the same schema
 * the GroupStore loads with, keys included), goes through a hidden temporary file in the same folder and a
 * rename (the GroupStore's scan skips dot-files, so it never sees half a file), and then asks the store to
 * rescan at once instead of waiting for its next poll. All file access is synchronous, so a read-check-
 * write sequence cannot interleave with another request of this process.
 */
export class GroupFileEditor {
  readonly groupsDir: string;

  constructor(
    groupsDir: string,
    private readonly writable: () => boolean,
    /** Called after every write: the GroupStore's load(), which rescans at once. */
    private readonly changed: () => void,
  ) {
    this.groupsDir = path.resolve(groupsDir);
  }

  /** The names of every group file, sorted. */
  names(): string[] {
    return scanGroupFiles(this.groupsDir)
      .map((f) => f.name)
      .filter(isValidGroupName)
      .sort();
  }

  fileOf(name: string): string {
    if (!isValidGroupName(name)) throw new ApiError(404, 'no such group');
    return path.join(this.groupsDir, `${name}.json`);
  }

  /** `"<size>-<mtime in ns>-<inode>"` of the file, or "" when it does not exist. */
  etag(name: string): string {
    try {
      const st = fs.statSync(this.fileOf(name), { bigint: true });
      return st.isFile() ? `"${st.size}-${st.mtimeNs}-${st.ino}"` : '';
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
      throw err;
    }
  }

  /** The file's JSON, or undefined when there is no such group. */
  read(name: string): RawGroup | undefined {
    const file = this.fileOf(name);
    const etag = this.etag(name);
    if (etag === '') return undefined;
    let data: unknown;
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new ApiError(409, `the group file on disk is not valid JSON; fix ${name}.json by hand`);
    }
    if (!isObject(data)) throw new ApiError(409, `the group file on disk is not a JSON object; fix ${name}.json by hand`);
    return { file, data, etag };
  }

  /** Like read(), but a missing group is a 404. */
  require(name: string): RawGroup {
    const g = this.read(name);
    if (!g) throw new ApiError(404, 'no such group');
    return g;
  }

  /**
   * Writes the group file if its current ETag is still `expected` ("" to create). Throws 403 when
   * config.json does not set writableGroups, 400 when the content would not load, 412 on a lost race.
   */
  write(name: string, data: Record<string, unknown>, expected: string): void {
    this.assertWritable();
    const file = this.fileOf(name);
    validate(file, data);
    if (this.etag(name) !== expected) throw new ApiError(412, 'precondition failed: the group changed meanwhile');
    const dir = path.dirname(file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const temp = path.join(dir, `.${path.basename(file)}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      fs.writeFileSync(temp, `${JSON.stringify(data, null, 4)}\n`, { mode: 0o600 });
      fs.renameSync(temp, file);
    } catch (err) {
      fs.rmSync(temp, { force: true });
      throw err;
    }
    this.changed();
  }

  delete(name: string, expected: string): void {
    this.assertWritable();
    const current = this.etag(name);
    if (current === '') throw new ApiError(404, 'no such group');
    if (current !== expected) throw new ApiError(412, 'precondition failed: the group changed meanwhile');
    fs.rmSync(this.fileOf(name));
    this.changed();
  }

  private assertWritable(): void {
    if (!this.writable()) {
      throw new ApiError(403, 'group files are read-only on this server (set "writableGroups": true in config.json)');
    }
  }
}

function validate(file: string, data: Record<string, unknown>): void {
  const parsed = groupFileSchema.safeParse(data);
  try {
    if (!parsed.success) throw configErrorFromIssues(file, parsed.error.issues as never, parsed.error);
    buildGroupDescription(parsed.data, { name: '', file, mtimeMs: 0, size: 0 });
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new ApiError(400, err.key ? `invalid group description: ${err.key}: ${err.reason}` : `invalid group description: ${err.reason}`);
    }
    throw err;
  }
}
