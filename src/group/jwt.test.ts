import crypto from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { importJwk, isJwtShaped, verifyGroupJwt, type GroupJwtOptions } from './jwt.js';

type Jwk = Record<string, unknown>;
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

const NOW = Date.UTC(2025, 0, 15, 12, 0, 0);
const nowS = NOW / 1000;

const hsSecret = crypto.randomBytes(32);
const hsKey: Jwk = { kty: 'oct', alg: 'HS256', k: hsSecret.toString('base64url') };
const hs512Secret = crypto.randomBytes(64);
const hs512Key: Jwk = { kty: 'oct', alg: 'HS512', k: hs512Secret.toString('base64url'), kid: 'big' };

const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecKey: Jwk = { ...ec.publicKey.export({ format: 'jwk' }), alg: 'ES256', kid: 'ec1' };
const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaKey: Jwk = { ...rsa.publicKey.export({ format: 'jwk' }), alg: 'RS256' };

function sign(header: Jwk, claims: Jwk, signer: 'hs' | 'hs512' | 'ec' | 'rsa' | 'none' = 'hs'): string {
  const input = `${b64(header)}.${b64(claims)}`;
  let sig: Buffer;
  switch (signer) {
    case 'hs':
      sig = crypto.createHmac('sha256', hsSecret).update(input).digest();
      break;
    case 'hs512':
      sig = crypto.createHmac('sha512', hs512Secret).update(input).digest();
      break;
    case 'ec':
      sig = crypto.sign('sha256', Buffer.from(input), { key: ec.privateKey, dsaEncoding: 'ieee-p1363' });
      break;
    case 'rsa':
      sig = crypto.sign('sha256', Buffer.from(input), rsa.privateKey);
      break;
    case 'none':
      sig = Buffer.alloc(0);
  }
  return `${input}.${sig.toString('base64url')}`;
}

const claims = (extra: Jwk = {}): Jwk => ({
  sub: 'alice',
  aud: 'https://lectern.example.org/group/physics/',
  permissions: ['present', 'message'],
  iat: nowS - 60,
  exp: nowS + 3600,
  ...extra,
});

const opts = (extra: Partial<GroupJwtOptions> = {}): GroupJwtOptions => ({
  keys: [hsKey, hs512Key, ecKey, rsaKey],
  groupName: 'physics',
  now: NOW,
  ...extra,
});

describe('verifyGroupJwt accepts', () => {
  it.each<[string, string, Partial<GroupJwtOptions>, object]>([
    ['HS256', sign({ alg: 'HS256', typ: 'JWT' }, claims()), {}, { username: 'alice' }],
    ['HS512 with kid', sign({ alg: 'HS512', kid: 'big' }, claims(), 'hs512'), {}, { username: 'alice' }],
    ['ES256', sign({ alg: 'ES256' }, claims(), 'ec'), {}, { username: 'alice' }],
    ['ES256 with kid', sign({ alg: 'ES256', kid: 'ec1' }, claims(), 'ec'), {}, { username: 'alice' }],
    ['RS256', sign({ alg: 'RS256' }, claims(), 'rsa'), {}, { permissions: ['present', 'message'] }],
    ['aud array', sign({ alg: 'HS256' }, claims({ aud: ['https://x/other/', 'https://y/group/physics/'] })), {}, {}],
    ['relative aud', sign({ alg: 'HS256' }, claims({ aud: '/group/physics/' })), {}, {}],
    [
      'canonical host, case-insensitive',
      sign({ alg: 'HS256' }, claims({ aud: 'https://Lectern.Example.org/group/physics/' })),
      { canonicalHost: 'lectern.example.org' },
      {},
    ],
    ['no sub', sign({ alg: 'HS256' }, claims({ sub: undefined })), {}, { noUsername: true }],
    ['empty sub', sign({ alg: 'HS256' }, claims({ sub: '' })), {}, { noUsername: true }],
    ['no permissions', sign({ alg: 'HS256' }, claims({ permissions: undefined })), {}, { permissions: [] }],
    ['exp within leeway', sign({ alg: 'HS256' }, claims({ exp: nowS - 3 })), {}, {}],
    ['iat within leeway', sign({ alg: 'HS256' }, claims({ iat: nowS + 3 })), {}, {}],
    ['nbf in the past', sign({ alg: 'HS256' }, claims({ nbf: nowS - 10 })), {}, {}],
    [
      'include-subgroups prefix',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/physics/', 'include-subgroups': true })),
      { groupName: 'physics/lab1' },
      { includeSubgroups: true },
    ],
    [
      'include-subgroups exact group',
      sign({ alg: 'HS256' }, claims({ 'include-subgroups': true })),
      {},
      { includeSubgroups: true },
    ],
    [
      'include-subgroups global',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/', 'include-subgroups': true })),
      { groupName: 'any/thing' },
      { includeSubgroups: true },
    ],
    [
      'percent-encoded group name',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/my%20class/' })),
      { groupName: 'my class' },
      {},
    ],
    [
      'custom group path',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/lectern/group/physics/' })),
      { groupUrlPath: '/lectern/group/physics/' },
      {},
    ],
  ])('%s', (_label, token, o, expected) => {
    const grant = verifyGroupJwt(token, opts(o));
    const { noUsername, ...rest } = expected as { noUsername?: boolean };
    expect(grant).toMatchObject(rest);
    if (noUsername) expect(grant.username).toBeUndefined();
    if (!('includeSubgroups' in expected)) expect(grant.includeSubgroups).toBe(false);
  });
});

describe('verifyGroupJwt rejects', () => {
  const good = sign({ alg: 'HS256' }, claims());
  const [gh, gp, gs] = good.split('.') as [string, string, string];
  const otherSecret = { kty: 'oct', alg: 'HS256', k: crypto.randomBytes(32).toString('base64url') };
  it.each<[string, string, Partial<GroupJwtOptions>, string]>([
    ['bad signature', `${gh}.${gp}.${Buffer.from(gs, 'base64url').reverse().toString('base64url')}`, {}, 'jwt-signature'],
    ['tampered claims', `${gh}.${b64(claims({ permissions: ['op'] }))}.${gs}`, {}, 'jwt-signature'],
    ['signed by another key', good, { keys: [otherSecret] }, 'jwt-signature'],
    ['ES256 signed by RSA', sign({ alg: 'ES256' }, claims(), 'rsa'), {}, 'jwt-signature'],
    ['alg none', sign({ alg: 'none' }, claims(), 'none'), {}, 'jwt-invalid'],
    ['alg none with a key claiming none', sign({ alg: 'none' }, claims(), 'none'), { keys: [{ kty: 'oct', alg: 'none' }] }, 'jwt-invalid'],
    ['no alg', sign({ typ: 'JWT' }, claims()), {}, 'jwt-invalid'],
    ['unsupported alg', sign({ alg: 'PS256' }, claims()), {}, 'jwt-invalid'],
    ['no key for alg', good, { keys: [ecKey] }, 'jwt-no-key'],
    ['no keys at all', good, { keys: [] }, 'jwt-no-key'],
    ['wrong kid', sign({ alg: 'HS256', kid: 'nope' }, claims()), {}, 'jwt-no-key'],
    ['kid names a key without kid', sign({ alg: 'HS256', kid: 'k1' }, claims()), {}, 'jwt-no-key'],
    ['HS key of wrong length', good, { keys: [{ ...hsKey, k: hsSecret.subarray(0, 31).toString('base64url') }] }, 'jwt-key-invalid'],
    ['HS256 key of 64 bytes', good, { keys: [{ ...hsKey, k: crypto.randomBytes(64).toString('base64url') }] }, 'jwt-key-invalid'],
    ['expired', sign({ alg: 'HS256' }, claims({ exp: nowS - 6 })), {}, 'jwt-expired'],
    ['missing exp', sign({ alg: 'HS256' }, claims({ exp: undefined })), {}, 'jwt-invalid'],
    ['missing iat', sign({ alg: 'HS256' }, claims({ iat: undefined })), {}, 'jwt-invalid'],
    ['string exp', sign({ alg: 'HS256' }, claims({ exp: String(nowS + 60) })), {}, 'jwt-invalid'],
    ['iat in the future', sign({ alg: 'HS256' }, claims({ iat: nowS + 60 })), {}, 'jwt-not-yet-valid'],
    ['nbf in the future', sign({ alg: 'HS256' }, claims({ nbf: nowS + 60 })), {}, 'jwt-not-yet-valid'],
    ['wrong audience', sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/chemistry/' })), {}, 'jwt-audience'],
    ['aud without trailing slash', sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/physics' })), {}, 'jwt-audience'],
    ['missing aud', sign({ alg: 'HS256' }, claims({ aud: undefined })), {}, 'jwt-audience'],
    ['subgroup without include-subgroups', good, { groupName: 'physics/lab1' }, 'jwt-audience'],
    [
      'include-subgroups is not a sibling prefix',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/phys/', 'include-subgroups': true })),
      {},
      'jwt-audience',
    ],
    [
      'include-subgroups does not widen upwards',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/physics/lab1/', 'include-subgroups': true })),
      {},
      'jwt-audience',
    ],
    [
      'dot segments are not resolved',
      sign({ alg: 'HS256' }, claims({ aud: 'https://h/group/x/../', 'include-subgroups': true })),
      {},
      'jwt-audience',
    ],
    ['wrong host with canonicalHost', good, { canonicalHost: 'other.example.org' }, 'jwt-audience'],
    ['relative aud with canonicalHost', sign({ alg: 'HS256' }, claims({ aud: '/group/physics/' })), { canonicalHost: 'h' }, 'jwt-audience'],
    ['permissions not an array', sign({ alg: 'HS256' }, claims({ permissions: 'op' })), {}, 'jwt-invalid'],
    ['sub not a string', sign({ alg: 'HS256' }, claims({ sub: 42 })), {}, 'jwt-invalid'],
    ['not a JWT', 'abcdefgh', {}, 'jwt-invalid'],
    ['payload not JSON', `${gh}.${b64('not json')}.${gs}`, {}, 'jwt-invalid'],
  ])('%s', (_label, token, o, code) => {
    expect(() => verifyGroupJwt(token, opts(o))).toThrow(expect.objectContaining({ code }));
  });

  it('tries the other keys of the same alg when one is broken or wrong', () => {
    const broken = { kty: 'oct', alg: 'HS256', k: 'dG9vc2hvcnQ' };
    expect(verifyGroupJwt(good, opts({ keys: [broken, otherSecret, hsKey] })).username).toBe('alice');
  });
});

describe('importJwk', () => {
  it.each<[string, Jwk]>([
    ['no alg', { kty: 'oct', k: hsSecret.toString('base64url') }],
    ['no kty', { alg: 'HS256', k: hsSecret.toString('base64url') }],
    ['HS384 with 32 bytes', { kty: 'oct', alg: 'HS384', k: hsSecret.toString('base64url') }],
    ['EC with RS256', { ...ecKey, alg: 'RS256' }],
    ['EC on P-384', { ...crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey.export({ format: 'jwk' }), alg: 'ES256' }],
    ['EC point off the curve', { ...ecKey, y: ecKey.x }],
    ['RSA with PS256', { ...rsaKey, alg: 'PS256' }],
    ['unknown kty', { kty: 'OKP', alg: 'EdDSA', crv: 'Ed25519', x: 'AAAA' }],
    ['k not base64url', { kty: 'oct', alg: 'HS256', k: 'a+b/' }],
  ])('rejects %s', (_label, jwk) => {
    expect(() => importJwk(jwk)).toThrow(expect.objectContaining({ code: 'jwt-key-invalid' }));
  });

  it('keeps alg and kid', () => {
    expect(importJwk(ecKey)).toMatchObject({ alg: 'ES256', kid: 'ec1' });
    expect(importJwk(hsKey).kid).toBeUndefined();
  });
});

describe('isJwtShaped', () => {
  it.each([
    ['aaa.bbb.ccc', true],
    ['aaa.bbb.', true],
    ['eyJhbGciOiJIUzI1NiJ9.e30.c2ln', true],
    ['abcdefghijk', false],
    ['aaa.bbb', false],
    ['aaa.bbb.ccc.ddd', false],
    ['a+a.bbb.ccc', false],
    ['.bbb.ccc', false],
    ['', false],
  ])('%j -> %s', (s, expected) => {
    expect(isJwtShaped(s)).toBe(expected);
  });
});
