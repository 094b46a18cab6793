import type { PeerConfig } from 'werift';

export { startLoopbackStun, type LoopbackStun } from '../../src/forward/loopbackStun.js';

/**
 * ICE settings for a werift peer in a test or bench: host candidates on 127.0.0.1 only, and the loopback
 * STUN responder as its STUN server, so that nothing is looked up or sent beyond loopback.
 */
export function loopbackPeerConfig(stunPort: number): Partial<PeerConfig> {
  return {
    iceServers: [{ urls: `stun:127.0.0.1:${stunPort}` }],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: ['127.0.0.1'],
  };
}
