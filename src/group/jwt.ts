/**
 * Galène-compatible JWT checking with node:crypto only. A group's `authKeys` are JWKs whose `alg` is
 * mandatory; accepted are HS256/384/512 (keys of exactly 32/48/64 bytes), ES256 on P-256 and RS256.
 */
import crypto, { type KeyObject } from 'node:crypto';
import { LecternError } from '../errors.js';

export const JWT_LEEWAY_SECONDS = 5;

export type JwtAlg = 'HS256' | 'HS384' | 'HS512' | 'ES256' | 'RS256';

const HMAC_BYTES: Readonly<Record<string, number>> = { HS256: 32, HS384: 48, HS512: 64 };
const DIGEST: Readonly<Record<JwtAlg, string>> = {
  HS256: 'sha256',
  HS384: 'sha384',
  HS512: 'sha512',
  ES256: 'sha256',
  RS256: 'sha256',
};

export interface ImportedJwk {
  readonly alg: JwtAlg;
  readonly kid?: string;
  readonly key: KeyObject;
}

export interface GroupJwtOptions {
  /** The group's `authKeys`. */
  readonly keys: readonly Readonly<Record<string, unknown>>[];
  readonly groupName: string;
  /** Path of the group's page as `aud` must name it; default `/group/<groupName>/`. */
  readonly groupUrlPath?: string;
  /** config.json `canonicalHost`: when set, `aud` must also name this host. */
  readonly canonicalHost?: string;
  /** Current time in epoch milliseconds (tests); default Date.now(). */
  readonly now?: number;
}

export interface GroupJwtGrant {
  /** `sub`; absent (or empty) means the client's own username is used. */
  readonly username?: string;
  /** The raw `permissions` claim, not expanded. */
  readonly permissions: string[];
  readonly includeSubgroups: boolean;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Three dot-separated base64url parts: the caller treats anything else as a stateful token. */
export function isJwtShaped(s: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(s);
}

function fail(code: string, message: string, cause?: unknown): never {
  throw new LecternError(code, message, cause === undefined ? undefined : { cause });
}

function b64url(s: unknown, what: string): string {
  if (typeof s !== 'string' || s === '' || !B64URL.test(s) || s.length % 4 === 1) {
    fail('jwt-key-invalid', `${what} is not base64url`);
  }
  return s;
}

const imported = new WeakMap<object, ImportedJwk>();

/** Checks and imports one JWK (cached per object). Throws LecternError `jwt-key-invalid`. */
export function importJwk(jwk: Readonly<Record<string, unknown>>): ImportedJwk {
  const cached = imported.get(jwk);
  if (cached) return cached;
  const { kty, alg } = jwk;
  if (typeof kty !== 'string') fail('jwt-key-invalid', 'key has no "kty"');
  if (typeof alg !== 'string') fail('jwt-key-invalid', 'key has no "alg"');
  let key: KeyObject;
  switch (kty) {
    case 'oct': {
      const want = HMAC_BYTES[alg];
      if (want === undefined) fail('jwt-key-invalid', `alg ${alg} is not usable with an "oct" key`);
      const k = Buffer.from(b64url(jwk.k, '"k"'), 'base64url');
      if (k.length !== want) fail('jwt-key-invalid', `${alg} key must be exactly ${want} bytes, not ${k.length}`);
      key = crypto.createSecretKey(k);
      break;
    }
    case 'EC':
      if (alg !== 'ES256') fail('jwt-key-invalid', `alg ${alg} is not usable with an "EC" key`);
      if (jwk.crv !== 'P-256') fail('jwt-key-invalid', 'ES256 key must be on curve P-256');
      key = publicKey({ kty, crv: 'P-256', x: b64url(jwk.x, '"x"'), y: b64url(jwk.y, '"y"') });
      break;
    case 'RSA':
      if (alg !== 'RS256') fail('jwt-key-invalid', `alg ${alg} is not usable with an "RSA" key`);
      key = publicKey({ kty, n: b64url(jwk.n, '"n"'), e: b64url(jwk.e, '"e"') });
      break;
    default:
      fail('jwt-key-invalid', `unsupported key type "${kty}"`);
  }
  const result: ImportedJwk = Object.freeze({
    alg: alg as JwtAlg,
    ...(typeof jwk.kid === 'string' ? { kid: jwk.kid } : {}),
    key,
  });
  imported.set(jwk, result);
  return result;
}

function publicKey(jwk: crypto.JsonWebKey): KeyObject {
  try {
    return crypto.createPublicKey({ key: jwk, format: 'jwk' });
  } catch (err) {
    fail('jwt-key-invalid', `unusable ${String(jwk.kty)} key (${(err as Error).message})`, err);
  }
}

function decodeJson(part: string, what: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch (err) {
    fail('jwt-invalid', `token ${what} is not JSON`, err);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) fail('jwt-invalid', `token ${what} is not an object`);
  return v as Record<string, unknown>;
}

function verifySignature(k: ImportedJwk, data: Buffer, sig: Buffer): boolean {
  const digest = DIGEST[k.alg];
  try {
    switch (k.alg) {
      case 'HS256':
      case 'HS384':
      case 'HS512': {
        const mac = crypto.createHmac(digest, k.key).update(data).digest();
        return mac.length === sig.length && crypto.timingSafeEqual(mac, sig);
      }
      case 'ES256':
        return sig.length === 64 && crypto.verify(digest, data, { key: k.key, dsaEncoding: 'ieee-p1363' }, sig);
      case 'RS256':
        return crypto.verify(digest, data, k.key, sig);
    }
  } catch {
    return false;
  }
}

/** Tries the keys the header allows: matching `alg`, and only the one with that `kid` if it names one. */
function checkSignature(header: Record<string, unknown>, keys: GroupJwtOptions['keys'], data: Buffer, sig: Buffer) {
  const alg = header.alg;
  if (typeof alg !== 'string' || alg === '') fail('jwt-invalid', 'token header has no "alg"');
  if (alg.toLowerCase() === 'none') fail('jwt-invalid', 'unsigned tokens (alg "none") are not accepted');
  if (!(alg in DIGEST)) fail('jwt-invalid', `unsupported alg ${alg}`);
  const kid = typeof header.kid === 'string' ? header.kid : undefined;
  const candidates = keys.filter((k) => k.alg === alg && (kid === undefined || k.kid === kid));
  if (candidates.length === 0) {
    fail('jwt-no-key', kid === undefined ? `no ${alg} key for this group` : `no ${alg} key with kid "${kid}"`);
  }
  let usable = 0;
  for (const jwk of candidates) {
    let k: ImportedJwk;
    try {
      k = importJwk(jwk);
    } catch {
      continue; // a broken key must not hide a good one (GroupStore reports it at load time)
    }
    usable++;
    if (verifySignature(k, data, sig)) return;
  }
  if (usable === 0) fail('jwt-key-invalid', `the group's ${alg} keys are unusable`);
  fail('jwt-signature', 'bad token signature');
}

function numericDate(claims: Record<string, unknown>, name: string, required: boolean): number | undefined {
  const v = claims[name];
  if (v === undefined || v === null) {
    if (required) fail('jwt-invalid', `token has no "${name}" claim`);
    return undefined;
  }
  if (typeof v !== 'number' || !Number.isFinite(v)) fail('jwt-invalid', `token claim "${name}" is not a number`);
  return v;
}

/** Splits `aud` into host and raw path without normalizing the path (so `..` is never resolved). */
function audienceParts(aud: string): { host: string; path: string } | undefined {
  const abs = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)([^?#]*)/.exec(aud);
  const host = abs ? (abs[1] ?? '').replace(/^.*@/, '') : '';
  const raw = abs ? (abs[2] ?? '') : /^[^?#]*/.exec(aud)?.[0] ?? '';
  try {
    return { host, path: decodeURIComponent(raw) };
  } catch {
    return undefined;
  }
}

function audienceMatches(auds: readonly string[], opts: GroupJwtOptions, includeSubgroups: boolean): boolean {
  const { groupName } = opts;
  const expected = opts.groupUrlPath ?? `/group/${groupName}/`;
  const base = expected.endsWith(`/${groupName}/`) ? expected.slice(0, -(groupName.length + 1)) : '/group/';
  const host = opts.canonicalHost?.toLowerCase();
  return auds.some((aud) => {
    const parts = audienceParts(aud);
    if (parts === undefined) return false;
    if (host !== undefined && host !== '' && parts.host.toLowerCase() !== host) return false;
    if (!includeSubgroups) return parts.path === expected;
    return parts.path.startsWith(base) && parts.path.endsWith('/') && expected.startsWith(parts.path);
  });
}

/**
 * Verifies a JWT for joining `groupName`: signature, `exp` and `iat` (required) and `nbf` (if present)
 * with 5 s of leeway, then `aud`. Throws LecternError with code `jwt-invalid` (malformed, alg none,
 * missing or mistyped claims), `jwt-no-key`, `jwt-key-invalid`, `jwt-signature`, `jwt-expired`,
 * `jwt-not-yet-valid` or `jwt-audience`.
 */
export function verifyGroupJwt(token: string, opts: GroupJwtOptions): GroupJwtGrant {
  if (!isJwtShaped(token)) fail('jwt-invalid', 'not a JWT');
  const [h, p, s] = token.split('.') as [string, string, string];
  const header = decodeJson(h, 'header');
  const claims = decodeJson(p, 'payload');
  if (s.length % 4 === 1) fail('jwt-invalid', 'token signature is not base64url');
  checkSignature(header, opts.keys, Buffer.from(`${h}.${p}`, 'ascii'), Buffer.from(s, 'base64url'));

  const now = (opts.now ?? Date.now()) / 1000;
  const exp = numericDate(claims, 'exp', true)!;
  const iat = numericDate(claims, 'iat', true)!;
  const nbf = numericDate(claims, 'nbf', false);
  if (now >= exp + JWT_LEEWAY_SECONDS) fail('jwt-expired', 'token has expired');
  if (iat > now + JWT_LEEWAY_SECONDS) fail('jwt-not-yet-valid', 'token issued in the future');
  if (nbf !== undefined && nbf > now + JWT_LEEWAY_SECONDS) fail('jwt-not-yet-valid', 'token not valid yet');

  const sub = claims.sub;
  if (sub !== undefined && sub !== null && typeof sub !== 'string') fail('jwt-invalid', 'token "sub" is not a string');
  const rawAud = claims.aud;
  const auds =
    typeof rawAud === 'string' ? [rawAud] : Array.isArray(rawAud) ? rawAud : rawAud == null ? [] : undefined;
  if (auds === undefined || auds.some((a) => typeof a !== 'string')) fail('jwt-invalid', 'token "aud" is malformed');
  const includeSubgroups = claims['include-subgroups'] === true;
  if (!audienceMatches(auds as string[], opts, includeSubgroups)) fail('jwt-audience', 'token for wrong group');

  const perms = claims.permissions;
  if (perms != null && (!Array.isArray(perms) || perms.some((x) => typeof x !== 'string'))) {
    fail('jwt-invalid', 'token "permissions" is not an array of strings');
  }
  return {
    ...(typeof sub === 'string' && sub !== '' ? { username: sub } : {}),
    permissions: perms == null ? [] : [...(perms as string[])],
    includeSubgroups,
  };
}
