import type { IceServer } from '../../config/iceServers.js';

const quote = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');

/**
 * `Link: <url>; rel="ice-server"` values (RFC 9725 §4.4) for the configured ICE servers: STUN URLs alone,
 * TURN URLs with their username and credential. Nothing when no servers are configured.
 */
export function iceServerLinks(servers: readonly IceServer[]): string[] {
  const out: string[] = [];
  for (const server of servers) {
    const urls = Array.isArray(server.urls) ? server.urls : [server.urls];
    for (const url of urls) {
      if (typeof url !== 'string' || /[<>\r\n]/.test(url)) continue;
      const scheme = url.slice(0, url.indexOf(':')).toLowerCase();
      if (scheme === 'stun' || scheme === 'stuns') {
        out.push(`<${url}>; rel="ice-server"`);
      } else if ((scheme === 'turn' || scheme === 'turns') && typeof server.credential === 'string') {
        // an hmac-sha1 "credential" is the shared secret itself: never hand it out
        if (server.credentialType !== undefined && server.credentialType !== 'password') continue;
        out.push(
          `<${url}>; rel="ice-server"; username="${quote(server.username ?? '')}"; ` +
            `credential="${quote(server.credential)}"; credential-type="password"`,
        );
      }
    }
  }
  return out;
}
