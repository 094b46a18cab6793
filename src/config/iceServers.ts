import fs from 'node:fs';
import type { Logger } from '../log.js';

/** One entry of data/ice-servers.json, as Galène and RTCConfiguration spell it. */
export interface IceServer {
  urls: string | string[];
  username?: string;
  credential?: string;
  credentialType?: string;
}

let cache: { file: string; mtimeMs: number; size: number; servers: IceServer[] } | undefined;

/**
 * The ICE servers given to clients, from data/ice-servers.json (none when it is absent). The file is re-read
 * only when its mtime or size changes; a malformed file is logged and yields no servers.
 */
export function readIceServers(file: string, log: Logger): IceServer[] {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch {
    cache = undefined;
    return [];
  }
  if (cache && cache.file === file && cache.mtimeMs === st.mtimeMs && cache.size === st.size) return cache.servers;
  let servers: IceServer[] = [];
  try {
    const parsed: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(parsed) || !parsed.every((s) => typeof s === 'object' && s !== null && 'urls' in s)) {
      throw new Error('expected an array of {urls, username?, credential?}');
    }
    servers = parsed as IceServer[];
  } catch (err) {
    log.error({ file, err: err instanceof Error ? err.message : String(err) }, 'ignoring invalid ice-servers.json');
  }
  cache = { file, mtimeMs: st.mtimeMs, size: st.size, servers };
  return servers;
}
