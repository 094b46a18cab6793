import { createHmac } from 'node:crypto';

/** A JWT signed with HS256 by `key` (a group's `authKeys` entry `{kty:'oct', alg:'HS256', k}`), for tests. */
export function signHs256(key: Buffer, claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const input = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${createHmac('sha256', key).update(input).digest('base64url')}`;
}
