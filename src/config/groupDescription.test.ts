import { describe, expect, it } from 'vitest';
import { buildGroupDescription } from './groupDescription.js';
import type { GroupFileInput } from './schema.js';

const meta = { name: 'g', file: 'g.json', mtimeMs: 0, size: 0 };
const hls = (input: Record<string, unknown>) => buildGroupDescription(input as GroupFileInput, meta).value.hls;
const wildcard = (permissions: unknown) => ({ password: { type: 'wildcard' }, permissions });

describe('the hls default: on for a lecture (named presenters only)', () => {
  it.each([
    ['an op and observers', { users: { teacher: { password: 'x', permissions: 'op' } }, 'wildcard-user': wildcard('observe') }, true],
    ['a named presenter (array form)', { users: { prof: { password: 'x', permissions: ['present', 'message'] } } }, true],
    ['anyone may present (a meeting)', { users: { prof: { password: 'x', permissions: 'op' } }, 'wildcard-user': wildcard('present') }, false],
    ['the empty user may present', { users: { '': { password: '', permissions: 'present' }, prof: { password: 'x', permissions: 'op' } } }, false],
    ['nobody may present', { 'wildcard-user': wildcard('observe') }, false],
    ['an explicit false wins', { users: { teacher: { password: 'x', permissions: 'op' } }, hls: false }, false],
    ['an explicit true wins', { 'wildcard-user': wildcard('present'), hls: true }, true],
  ])('%s -> %s', (_what, input, expected) => {
    expect(hls(input)).toBe(expected);
  });
});
