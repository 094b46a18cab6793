import { LecternError } from '../errors.js';

/** One thing wrong in a configuration file: the dotted path of the value (`""`: the file as a whole), and why. */
export interface ConfigProblem {
  readonly key: string;
  readonly reason: string;
}

/**
 * A configuration file that cannot be used. `key` and `reason` are its first problem (`key` is the dotted
 * path of the offending value inside the file, `users.bob.password`, `""` for the file as a whole);
 * `problems` lists every one, the first included. The message names the file and every problem.
 */
export class ConfigError extends LecternError {
  readonly problems: readonly ConfigProblem[];

  constructor(
    readonly file: string,
    readonly key: string,
    readonly reason: string,
    options?: { cause?: unknown; more?: readonly ConfigProblem[] },
  ) {
    const problems = [{ key, reason }, ...(options?.more ?? [])];
    super('config-invalid', `${file}: ${problems.map(problemText).join('; ')}`, options);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

/** `key: reason`, or `(whole file): reason`. */
export function problemText(p: ConfigProblem): string {
  return `${p.key === '' ? '(whole file)' : p.key}: ${p.reason}`;
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
