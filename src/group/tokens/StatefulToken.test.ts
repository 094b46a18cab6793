import { describe, expect, it } from 'vitest';
import { checkStatefulToken, parseStatefulToken, tokenMatchesGroup, type StatefulToken } from './StatefulToken.js';

const tok = (over: Partial<StatefulToken>): StatefulToken => ({
  token: 't',
  group: 'a',
  permissions: [],
  expires: '2030-01-01T00:00:00Z',
  ...over,
});

describe('tokenMatchesGroup', () => {
  it.each([
    [{ group: 'a' }, 'a', true],
    [{ group: 'a' }, 'a/b', false],
    [{ group: 'a', includeSubgroups: true }, 'a/b', true],
    [{ group: 'a', includeSubgroups: true }, 'ab', false],
    [{ group: '', includeSubgroups: true }, 'anything/here', true],
    [{ group: '', includeSubgroups: true }, '', true],
    [{ group: '' }, '', false],
    [{ group: 'a', includeSubgroups: true }, '', false],
  ] as const)('%j admits to %j: %s', (over, group, ok) => {
    expect(tokenMatchesGroup(tok(over), group)).toBe(ok);
  });
});

describe('checkStatefulToken', () => {
  const now = Date.parse('2029-06-01T00:00:00Z');
  it.each([
    [{}, 'a', undefined],
    [{ group: 'b' }, 'a', 'token-wrong-group'],
    [{ expires: undefined }, 'a', 'token-expired'],
    [{ expires: '2029-05-31T23:59:59Z' }, 'a', 'token-expired'],
    [{ 'not-before': '2029-06-02T00:00:00Z' }, 'a', 'token-not-yet-valid'],
    [{ 'not-before': '2029-05-01T00:00:00Z' }, 'a', undefined],
  ] as const)('%j in %j -> %s', (over, group, code) => {
    const run = () => checkStatefulToken(tok(over as Partial<StatefulToken>), group, now);
    if (code === undefined) expect(run).not.toThrow();
    else expect(run).toThrow(expect.objectContaining({ code }));
  });
});

describe('parseStatefulToken', () => {
  it('keeps Galène fields, drops nulls and a false includeSubgroups', () => {
    expect(
      parseStatefulToken({ token: 'x', group: 'g', username: null, includeSubgroups: false, permissions: ['present'], expires: '2030-01-01T00:00:00Z', issuedBy: 'op' }),
    ).toEqual({ token: 'x', group: 'g', permissions: ['present'], expires: '2030-01-01T00:00:00Z', issuedBy: 'op' });
  });
  it.each([
    ['not an object', /JSON object/],
    [{ token: 1 }, /"token" must be a string/],
    [{ permissions: 'op' }, /"permissions"/],
    [{ expires: '31/12/2030' }, /RFC 3339/],
    [{ includeSubgroups: 'yes' }, /includeSubgroups/],
    [{ colour: 'red' }, /unknown field "colour"/],
  ])('refuses %j', (v, msg) => {
    expect(() => parseStatefulToken(v)).toThrow(msg);
  });
});
