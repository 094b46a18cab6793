import { describe, expect, it } from 'vitest';
import { LecternError } from '../errors.js';
import { CODECS } from './codecs.js';
import { serverPeerConfig, weriftCodec } from './peerConfig.js';

describe('serverPeerConfig', () => {
  it('is ICE-lite with no ICE servers and one bundled transport', () => {
    const c = serverPeerConfig({});
    expect(c.iceLite).toBe(true);
    expect(c.iceServers).toEqual([]);
    expect(c.bundlePolicy).toBe('max-bundle');
    expect(c.iceAdditionalHostAddresses).toBeUndefined();
    expect(c.icePortRange).toBeUndefined();
  });

  it('gathers only the given host addresses', () => {
    const c = serverPeerConfig({ hostAddresses: ['127.0.0.1'] });
    expect(c.iceUseIpv4).toBe(false);
    expect(c.iceUseIpv6).toBe(false);
    expect(c.iceAdditionalHostAddresses).toEqual(['127.0.0.1']);
  });

  it('passes a port range and rejects a bad one', () => {
    expect(serverPeerConfig({ portRange: [40000, 40100] }).icePortRange).toEqual([40000, 40100]);
    for (const bad of [[5000, 5000], [6000, 5000], [0, 10], [10, 70000]] as [number, number][]) {
      expect(() => serverPeerConfig({ portRange: bad })).toThrow(LecternError);
    }
  });
});

describe('weriftCodec', () => {
  it('carries the fixed payload type, fmtp and feedback, and is a fresh object each time', () => {
    const a = weriftCodec(CODECS.h264);
    expect(a.payloadType).toBe(102);
    expect(a.parameters).toContain('profile-level-id=42e01f');
    expect(a.rtcpFeedback).toHaveLength(4);
    expect(weriftCodec(CODECS.h264)).not.toBe(a);
    expect(weriftCodec(CODECS.opus).channels).toBe(2);
  });
});
