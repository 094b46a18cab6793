import { describe, expect, it } from 'vitest';
import { parseGroupPath } from './groupPath.js';

describe('parseGroupPath', () => {
  it.each([
    ['lecture/', { kind: 'page', group: 'lecture' }],
    ['lecture', { kind: 'no-slash', group: 'lecture' }],
    ['physics/room-1/', { kind: 'page', group: 'physics/room-1' }],
    ['lecture/.status', { kind: 'status', group: 'lecture' }],
    ['lecture/.status.json', { kind: 'status-json', group: 'lecture' }],
    ['caf%C3%A9/', { kind: 'page', group: 'café' }],
  ])('%s', (path, expected) => {
    expect(parseGroupPath(path)).toEqual(expected);
  });

  it.each(['', '/', '.hidden/', 'a/../b/', '../etc/', 'a/./b/', 'a%2F..%2Fb/', 'a%5cb/', 'a//b/', '%zz/', 'a%00/'])(
    'refuses %j',
    (path) => {
      expect(parseGroupPath(path)).toBeUndefined();
    },
  );
});
