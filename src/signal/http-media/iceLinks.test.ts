import { describe, expect, it } from 'vitest';
import { iceServerLinks } from './iceLinks.js';

describe('iceServerLinks', () => {
  it('gives nothing without servers, STUN URLs alone, TURN with quoted credentials, and never an hmac secret', () => {
    expect(iceServerLinks([])).toEqual([]);
    expect(
      iceServerLinks([
        { urls: 'stun:stun.example.org:3478' },
        { urls: ['turn:turn.example.org?transport=udp'], username: 'u"1', credential: 'p\\w' },
        { urls: 'turn:secret.example.org', username: 'x', credential: 'shared-secret', credentialType: 'hmac-sha1' },
      ]),
    ).toEqual([
      '<stun:stun.example.org:3478>; rel="ice-server"',
      '<turn:turn.example.org?transport=udp>; rel="ice-server"; username="u\\"1"; credential="p\\\\w"; credential-type="password"',
    ]);
  });
});
