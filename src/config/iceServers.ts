import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import type { Logger } from '../log.js';

/** One entry of data/ice-servers.json, as Galène and RTCConfiguration spell it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
  credentialType?: string;
}

/** How long minted hmac-sha1 credentials stay valid (Galène: 24 h). */
export const HMAC_CREDENTIAL_LIFETIME_S = 86_400;

const CREDENTIAL_TYPES = ['password', 'oauth', 'hmac-sha1'];

const cache = new Map<string, { mtimeMs: number; size: number; servers: IceServer[] }>();

/**
 * The ICE servers of data/ice-servers.json as written (none when it is absent). The file is re-read when
 * its mtime or size changes, so an edit applies to the next client without a restart. A malformed file is
 * logged once per change and yields no servers (clients then connect without TURN) rather than an error.
 */
export function readIceServers(file: string, log: Logger): IceServer[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    cache.delete(file);
    return [];
  }
  const cached = cache.get(file);
  if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.servers;
  let servers: IceServer[] = [];
  try {
    servers = parseIceServers(JSON.parse(fs.readFileSync(file, 'utf8')));
  } catch (err) {
    log.error({ file, err: err instanceof Error ? err.message : String(err) }, 'ignoring invalid ice-servers.json: no ICE servers');
  }
  cache.set(file, { mtimeMs: st.mtimeMs, size: st.size, servers });
  return servers;
}

/** Checks the parsed file; throws an Error naming the first bad entry. */
export function parseIceServers(parsed: unknown): IceServer[] {
  if (!Array.isArray(parsed)) throw new Error('expected an array of {urls, username?, credential?, credentialType?}');
  return parsed.map((s: unknown, i) => {
    const where = `entry ${i}`;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw new Error(`${where}: expected an object`);
    const e = s as Record<string, unknown>;
    const urls = e.urls;
    const okUrls = typeof urls === 'string' || (Array.isArray(urls) && urls.length > 0 && urls.every((u) => typeof u === 'string'));
    if (!okUrls) throw new Error(`${where}: "urls" must be a string or a non-empty array of strings`);
    for (const k of ['username', 'credential', 'credentialType'] as const) {
      if (e[k] !== undefined && typeof e[k] !== 'string') throw new Error(`${where}: "${k}" must be a string`);
    }
    if (e.credentialType !== undefined && !CREDENTIAL_TYPES.includes(e.credentialType as string)) {
      throw new Error(`${where}: unknown credentialType ${JSON.stringify(e.credentialType)} (expected ${CREDENTIAL_TYPES.join(', ')})`);
    }
    if (e.credentialType === 'hmac-sha1' && !e.credential) {
      throw new Error(`${where}: hmac-sha1 needs the shared secret in "credential"`);
    }
    const out: IceServer = { urls: Array.isArray(urls) ? [...(urls as string[])] : (urls as string) };
    if (e.username !== undefined) out.username = e.username as string;
    if (e.credential !== undefined) out.credential = e.credential as string;
    if (e.credentialType !== undefined) out.credentialType = e.credentialType as string;
    return out;
  });
}

/**
 * The servers as a client gets them. Static entries pass through; an `hmac-sha1` entry's credential is a
 * secret shared with the TURN server (coturn's `use-auth-secret` / TURN REST API): the client gets username
 * `<expiry unix time>:<name>` — name being the entry's username, else `clientId`; just the expiry when
 * neither is set — and credential base64(HMAC-SHA1(secret, username)), valid for 24 hours.
 */
export function mintIceServers(servers: readonly IceServer[], clientId?: string, nowMs = Date.now()): IceServer[] {
  return servers.map((s) => {
    if (s.credentialType !== 'hmac-sha1') return { ...s };
    const expiry = Math.floor(nowMs / 1000) + HMAC_CREDENTIAL_LIFETIME_S;
    const name = s.username || clientId;
    const username = name ? `${expiry}:${name}` : `${expiry}`;
    const credential = createHmac('sha1', s.credential ?? '').update(username).digest('base64');
    return { urls: s.urls, username, credential };
  });
}

/** The client's `rtcConfiguration`: the ICE servers (already minted), and iceTransportPolicy "relay" when relay-only. */
export function rtcConfiguration(iceServers: IceServer[], opts: { relayOnly?: boolean } = {}) {
  return {
    iceServers,
    ...(opts.relayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
  };
}
