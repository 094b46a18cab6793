import { LecternError } from '../errors.js';

/**
 * A configuration file that cannot be used. `key` is the dotted path of the offending value inside the
 * file (`users.bob.password`, `""` for the file as a whole), `reason` says what is wrong with it.
 */
export class ConfigError extends LecternError {
  constructor(
    readonly file: string,
    readonly key: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('config-invalid', `${file}: ${key === '' ? '(whole file)' : key}: ${reason}`, options);
    this.name = 'ConfigError';
  }
}

/** Renders a path as `users["j.doe"].password`: dotted, with awkward keys quoted. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') {
      out += `.${part}`;
    } else {
      const s = String(part);
      out += /^[A-Za-z0-9_-]+$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`;
    }
  }
  return out.startsWith('.') ? out.slice(1) : out;
}
