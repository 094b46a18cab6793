import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../log.js';
import { ConfigError } from './ConfigError.js';
import { normalizeUsers } from './groupDescription.js';
import { readConfigFile } from './readConfigFile.js';
import { serverFileSchema, type ServerFileInput } from './schema.js';
import type { ServerFileConfig, WebhookConfig } from './types.js';

export const SERVER_CONFIG_FILE = 'config.json';

/**
 * Reads `<dataDir>/config.json`. A missing file gives the defaults; an unreadable or invalid one throws
 * ConfigError. The result is frozen. `log` (optional) receives a warning for obsolete keys.
 * Callers that hot-reload compare `mtimeMs`/`size` with `fs.statSync(file)` before calling again.
 */
export function loadServerConfig(dataDir: string, log?: Logger): ServerFileConfig {
  const file = path.resolve(dataDir, SERVER_CONFIG_FILE);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return defaultServerConfig(file);
    throw new ConfigError(file, '', `cannot stat file (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: err,
    });
  }
  if (!stat.isFile()) throw new ConfigError(file, '', 'not a regular file');
  const input = readConfigFile(file, serverFileSchema);
  if (input.admin != null) log?.warn({ file }, 'config.json: key "admin" is obsolete and ignored');
  return Object.freeze({
    file,
    mtimeMs: stat.mtimeMs,
    size: stat.size,
    users: Object.freeze(normalizeUsers(input.users)),
    writableGroups: input.writableGroups ?? false,
    allowOrigin: Object.freeze([...(input.allowOrigin ?? [])]),
    allowAdminOrigin: Object.freeze([...(input.allowAdminOrigin ?? [])]),
    ...(input.proxyURL ? { proxyURL: input.proxyURL } : {}),
    ...(input.canonicalHost ? { canonicalHost: input.canonicalHost } : {}),
    ...(input.redis ? { redis: input.redis } : {}),
    ...(input.metricsToken ? { metricsToken: input.metricsToken } : {}),
    ...(input.webhooks?.length ? { webhooks: Object.freeze(input.webhooks.map(normalizeWebhook)) } : {}),
    ...(input.relayOnly ? { relayOnly: true } : {}),
    ...(input.publicAddresses?.length ? { publicAddresses: Object.freeze([...input.publicAddresses]) } : {}),
  });
}

function normalizeWebhook(w: NonNullable<ServerFileInput['webhooks']>[number]): WebhookConfig {
  return Object.freeze({
    url: w.url,
    secret: w.secret,
    ...(w.events ? { events: Object.freeze([...w.events]) } : {}),
    ...(w.attempts != null ? { attempts: w.attempts } : {}),
    ...(w.backoffMs != null ? { backoffMs: w.backoffMs } : {}),
    ...(w.timeoutMs != null ? { timeoutMs: w.timeoutMs } : {}),
  });
}

export function defaultServerConfig(file: string): ServerFileConfig {
  return Object.freeze({
    file,
    mtimeMs: 0,
    size: 0,
    users: Object.freeze(Object.create(null) as Record<string, never>),
    writableGroups: false,
    allowOrigin: Object.freeze([]),
    allowAdminOrigin: Object.freeze([]),
  });
}

/**
 * Hot reload of config.json, Galène-style (checked on use, re-read when mtime or size changed). Loads
 * once now (throwing ConfigError if the file is invalid at startup) and returns a getter. A later invalid
 * edit is logged once and the last valid config is kept until the file is fixed or removed.
 */
export function serverConfigReader(dataDir: string, log?: Logger): () => ServerFileConfig {
  let current = loadServerConfig(dataDir, log);
  let badStamp = '';
  return () => {
    let stamp: string;
    try {
      const st = fs.statSync(current.file);
      stamp = `${st.mtimeMs}-${st.size}`;
    } catch {
      stamp = '0-0'; // missing: back to defaults
    }
    if (stamp === `${current.mtimeMs}-${current.size}` || stamp === badStamp) return current;
    try {
      current = loadServerConfig(dataDir, log);
      badStamp = '';
    } catch (err) {
      badStamp = stamp;
      const e = err as ConfigError;
      log?.error({ file: e.file, key: e.key, reason: e.reason }, 'invalid config.json, keeping the last valid one');
    }
    return current;
  };
}
