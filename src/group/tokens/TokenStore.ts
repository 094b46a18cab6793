import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../../log.js';
import { parseStatefulToken, TokenError, type StatefulToken } from './StatefulToken.js';

/** Tokens are kept this long after they expire (so an op can still see and extend them), then purged. */
export const PURGE_AFTER_MS = 7 * 24 * 3600 * 1000;
const PURGE_EVERY_MS = 3600 * 1000;

export interface TokenStoreOptions {
  /** Usually `<data>/var/tokens.jsonl`. */
  file: string;
  log: Logger;
  /** The clock (epoch ms); injectable for tests. */
  now?: () => number;
  /** How often expired tokens are purged; 0 disables the timer (call purge() yourself). */
  purgeEveryMs?: number;
}

/** A fresh token name: 8 random bytes, base64url without padding, as Galène makes them. */
export function newTokenName(): string {
  return randomBytes(8).toString('base64url');
}

/** An ETag for one token, derived from its content (so edits to other tokens do not invalidate it). */
export function tokenETag(t: StatefulToken): string {
  return `"${createHash('sha256').update(JSON.stringify(t)).digest('base64url').slice(0, 22)}"`;
}

/**
 * Stateful tokens, persisted as JSON Lines. The file is the truth: it is re-read whenever its size or
 * mtime changes (galenectl or a hand edit), and every change rewrites it through a temporary file and a
 * rename, so a reader never sees half a file. All file access is synchronous, so two changes in this
 * process can never interleave. A line that does not parse is logged, skipped and written back unchanged.
 */
export class TokenStore {
  readonly file: string;
  private readonly log: Logger;
  readonly now: () => number;
  private tokens = new Map<string, StatefulToken>();
  private badLines: string[] = [];
  private stamp = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: TokenStoreOptions) {
    this.file = path.resolve(opts.file);
    this.log = opts.log.child({ component: 'tokens' });
    this.now = opts.now ?? Date.now;
    const every = opts.purgeEveryMs ?? PURGE_EVERY_MS;
    if (every > 0) {
      this.timer = setInterval(() => this.purgeLogged(), every);
      this.timer.unref();
    }
  }

  get(token: string): StatefulToken | undefined {
    this.load();
    return this.tokens.get(token);
  }

  /** The tokens of exactly this group, soonest expiry first. */
  list(group: string): StatefulToken[] {
    this.load();
    return [...this.tokens.values()]
      .filter((t) => t.group === group)
      .sort((a, b) => (Date.parse(a.expires ?? '') || 0) - (Date.parse(b.expires ?? '') || 0));
  }

  /** Stores a new token; its name is generated here. Throws `token-exists` on the (unlikely) clash. */
  create(fields: Omit<StatefulToken, 'token'>): StatefulToken {
    this.load();
    const t = parseStatefulToken({ ...fields, token: newTokenName() });
    if (this.tokens.has(t.token)) throw new TokenError('token-exists', 'token already exists');
    this.write(new Map(this.tokens).set(t.token, t));
    return t;
  }

  /**
   * Writes a token under its name, replacing any previous version. With `ifMatch`, the stored version
   * must still have that ETag (`"*"`-free; use get() to check existence): `token-changed` otherwise.
   */
  put(t: StatefulToken, ifMatch?: string): StatefulToken {
    this.load();
    const clean = parseStatefulToken(t);
    if (clean.token === '') throw new TokenError('token-invalid', 'a token needs a name');
    const old = this.tokens.get(clean.token);
    if (ifMatch !== undefined && (old === undefined || tokenETag(old) !== ifMatch)) {
      throw new TokenError('token-changed', 'the token was changed meanwhile');
    }
    this.write(new Map(this.tokens).set(clean.token, clean));
    return clean;
  }

  /** Deletes a token; false if there was none. */
  delete(token: string): boolean {
    this.load();
    if (!this.tokens.has(token)) return false;
    const next = new Map(this.tokens);
    next.delete(token);
    this.write(next);
    return true;
  }

  /** Removes tokens that expired more than 7 days ago; returns how many went. */
  purge(): number {
    this.load();
    const cutoff = this.now() - PURGE_AFTER_MS;
    const next = new Map(this.tokens);
    for (const [name, t] of this.tokens) {
      if (t.expires !== undefined && Date.parse(t.expires) < cutoff) next.delete(name);
    }
    const removed = this.tokens.size - next.size;
    if (removed > 0) {
      this.write(next);
      this.log.info({ removed }, 'purged expired tokens');
    }
    return removed;
  }

  /** Stops the purge timer. Idempotent. */
  close(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private purgeLogged(): void {
    try {
      this.purge();
    } catch (err) {
      this.log.error({ err }, 'purging tokens failed');
    }
  }

  /** Re-reads the file if it changed since we last saw it. */
  private load(): void {
    let st: fs.BigIntStats;
    try {
      st = fs.statSync(this.file, { bigint: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      this.tokens = new Map();
      this.badLines = [];
      this.stamp = '';
      return;
    }
    const stamp = `${st.size}-${st.mtimeNs}-${st.ino}`;
    if (stamp === this.stamp) return;
    const text = fs.readFileSync(this.file, 'utf8');
    const tokens = new Map<string, StatefulToken>();
    const bad: string[] = [];
    text.split('\n').forEach((line, i) => {
      if (line.trim() === '') return;
      try {
        const t = parseStatefulToken(JSON.parse(line));
        if (t.token === '') throw new TokenError('token-invalid', 'missing field "token"');
        tokens.set(t.token, t);
      } catch (err) {
        bad.push(line);
        this.log.warn({ file: this.file, line: i + 1, reason: (err as Error).message }, 'skipping a corrupt token line');
      }
    });
    this.tokens = tokens;
    this.badLines = bad;
    this.stamp = stamp;
  }

  private write(next: Map<string, StatefulToken>): void {
    const dir = path.dirname(this.file);
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const lines = [...[...next.values()].map((t) => JSON.stringify(t)), ...this.badLines];
    const temp = path.join(dir, `.tokens-${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
    try {
      fs.writeFileSync(temp, lines.length > 0 ? `${lines.join('\n')}\n` : '', { mode: 0o600 });
      fs.renameSync(temp, this.file);
    } catch (err) {
      fs.rmSync(temp, { force: true });
      throw err;
    }
    this.tokens = next;
    const st = fs.statSync(this.file, { bigint: true });
    this.stamp = `${st.size}-${st.mtimeNs}-${st.ino}`;
  }
}
