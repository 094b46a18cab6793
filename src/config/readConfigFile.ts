import fs from 'node:fs';
import type { z } from 'zod';
import { ConfigError, formatKeyPath } from './ConfigError.js';

/** The bits of a zod issue we read (zod 4's issue union, kept structural). */
interface Issue {
  readonly code: string;
  readonly path: readonly PropertyKey[];
  readonly message: string;
  readonly keys?: readonly string[];
  readonly expected?: string;
  readonly errors?: readonly (readonly Issue[])[];
}

/** Reads and validates one JSON config file. Throws ConfigError naming the file, the key and the reason. */
export function readConfigFile<S extends z.ZodType>(file: string, schema: S): z.output<S> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, '', `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: err,
    });
  }
  return parseConfigText(file, text, schema);
}

/** Same as readConfigFile, from text already in hand. */
export function parseConfigText<S extends z.ZodType>(file: string, text: string, schema: S): z.output<S> {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(file, '', `invalid JSON: ${(err as Error).message}`, { cause: err });
  }
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  throw configErrorFromIssues(file, result.error.issues as unknown as readonly Issue[], result.error);
}

/** Turns zod issues into one ConfigError listing every problem. */
export function configErrorFromIssues(file: string, issues: readonly Issue[], cause?: unknown): ConfigError {
  const [first, ...more] = issues.map((issue) => {
    const { path, reason } = describeIssue(issue, []);
    return { key: formatKeyPath(path), reason };
  });
  if (first === undefined) return new ConfigError(file, '', 'invalid', { cause });
  return new ConfigError(file, first.key, first.reason, { cause, more });
}

function describeIssue(issue: Issue, prefix: readonly PropertyKey[]): { path: PropertyKey[]; reason: string } {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'unrecognized_keys' && issue.keys && issue.keys.length > 0) {
    const [key, ...others] = issue.keys;
    const also = others.length > 0 ? ` (also unknown: ${others.join(', ')})` : '';
    return { path: [...path, key as string], reason: `unknown key${also}` };
  }
  if (issue.code === 'invalid_union' && issue.errors && issue.errors.length > 0) {
    return describeUnion(issue.errors, path);
  }
  return { path, reason: cleanMessage(issue.message) };
}

/**
 * A union failed (a password is "a string or an object", permissions are "a name or an array"). Report the
 * branch that got furthest: a deeper path, or a complaint other than "wrong type"; when every branch only
 * disagrees on the type, list the types that would have been accepted.
 */
function describeUnion(branches: readonly (readonly Issue[])[], path: PropertyKey[]) {
  let best: Issue | undefined;
  let bestScore = -1;
  const expected: string[] = [];
  let received = '';
  let allTypeErrors = true;
  for (const branch of branches) {
    const issue = branch[0];
    if (issue === undefined) continue;
    const score = issue.path.length * 2 + (issue.code === 'invalid_type' ? 0 : 1);
    if (score > bestScore) {
      best = issue;
      bestScore = score;
    }
    if (issue.code === 'invalid_type' && issue.path.length === 0 && issue.expected) {
      expected.push(issue.expected);
      received = / received (\w+)/.exec(issue.message)?.[1] ?? received;
    } else {
      allTypeErrors = false;
    }
  }
  if (allTypeErrors && expected.length > 0) {
    return { path, reason: `expected ${expected.join(' or ')}${received ? `, received ${received}` : ''}` };
  }
  return best ? describeIssue(best, path) : { path, reason: 'invalid value' };
}

function cleanMessage(message: string): string {
  const missing = /^Invalid input: expected (\w+), received undefined$/.exec(message);
  if (missing) return `missing (expected ${missing[1]})`;
  return message.replace(/^Invalid input: /, '');
}
