import { describe, expect, it } from 'vitest';
import { expandPermissions } from './permissions.js';

const plain = { allowRecording: false, unrestrictedTokens: false };
const rec = { allowRecording: true, unrestrictedTokens: false };
const tok = { allowRecording: false, unrestrictedTokens: true };
const both = { allowRecording: true, unrestrictedTokens: true };

describe('expandPermissions', () => {
  it.each([
    ['op', plain, ['op', 'present', 'message', 'caption', 'token']],
    ['op', rec, ['op', 'present', 'message', 'caption', 'token', 'record']],
    ['op', both, ['op', 'present', 'message', 'caption', 'token', 'record']],
    ['present', plain, ['present', 'message']],
    ['present', rec, ['present', 'message']],
    ['present', tok, ['present', 'message', 'token']],
    ['message', both, ['message']],
    ['observe', both, []],
    ['caption', both, ['caption']],
    ['admin', both, ['admin']],
    ['op', undefined, ['op', 'present', 'message', 'caption', 'token']],
    [['present', 'record'], both, ['present', 'record']],
    [[], both, []],
    [['whatever'], plain, ['whatever']],
  ] as const)('%j with %j', (p, desc, expected) => {
    expect([...expandPermissions(p, desc)].sort()).toEqual([...expected].sort());
  });

  it('returns a fresh array', () => {
    const a = expandPermissions('op', plain);
    a.push('x');
    expect(expandPermissions('op', plain)).not.toContain('x');
  });

  it('rejects an unknown set name', () => {
    expect(() => expandPermissions('god', plain)).toThrow(expect.objectContaining({ code: 'permissions-unknown' }));
  });
});
