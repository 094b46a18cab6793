/**
 * Time-limited TURN credentials, the TURN REST API scheme (coturn's use-auth-secret): the username is
 * `<expiry unix time>:<user>`, the password base64(HMAC-SHA1(secret, username)).
 */
import { createHmac } from 'node:crypto';

export function restPassword(secret: Buffer | string, username: string): string {
  return createHmac('sha1', secret).update(username).digest('base64');
}

export function mintRestCredential(secret: Buffer | string, user: string, lifetimeS: number, nowMs = Date.now()) {
  const username = `${Math.floor(nowMs / 1000) + lifetimeS}:${user}`;
  return { username, credential: restPassword(secret, username) };
}

/** The password for `username` if its expiry is a number in the future, else why not. */
export function checkRestUsername(secret: Buffer | string, username: string, nowMs = Date.now()): { password: string } | { refused: string } {
  const m = /^(\d{1,12})(?::|$)/.exec(username);
  if (!m) return { refused: 'username is not <expiry>:<user>' };
  if (Number(m[1]) * 1000 <= nowMs) return { refused: 'credential expired' };
  return { password: restPassword(secret, username) };
}
