/**
 * zod schemas for the configuration files exactly as they are written on disk, Galène's key names and
 * encodings included, so that an existing Galène `data/` and `groups/` folder loads unchanged.
 * Objects are strict: an unknown key is an error, as in Galène. `null` is accepted wherever a key is
 * optional and means "absent" (Go's JSON decoder ignores nulls, and galenectl templates use them).
 */
import { z } from 'zod';
import { NAMED_PERMISSION_SETS, PBKDF2_HASHES } from './types.js';
import { EVENT_TYPES } from '../webhooks/events.js';

// The normalized shapes, re-exported for convenience (the schemas below describe the files on disk).
export type { GroupDescription, Jwk, Password, ServerFileConfig, UserEntry, UserMap } from './types.js';

const HEX = /^(?:[0-9a-fA-F]{2})*$/;
const BCRYPT = /^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)$/i;

const hex = (what: string) => z.string().regex(HEX, { message: `${what} must be an even-length hex string` });

export const rfc3339Schema = z.string().refine((s) => RFC3339.test(s) && !Number.isNaN(Date.parse(s)), {
  message: 'expected an RFC 3339 date such as 2025-01-31T18:00:00Z',
});

const urlString = (protocols?: readonly string[]) =>
  z.string().refine(
    (s) => {
      if (!URL.canParse(s)) return false;
      return protocols === undefined || protocols.includes(new URL(s).protocol);
    },
    { message: protocols ? `expected a URL (${protocols.join(' or ')})` : 'expected an absolute URL' },
  );

/** A password: a bare string (plain) or an object discriminated by `type`. */
export const passwordSchema = z.union([
  z.string(),
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('plain'), key: z.string() }),
    z.strictObject({ type: z.literal('wildcard') }),
    z.strictObject({
      type: z.literal('pbkdf2'),
      hash: z.enum(PBKDF2_HASHES),
      key: hex('key').min(2, { message: 'key must not be empty' }),
      salt: hex('salt'),
      iterations: z.number().int().positive(),
    }),
    z.strictObject({
      type: z.literal('bcrypt'),
      key: z.string().regex(BCRYPT, { message: 'expected a bcrypt hash ($2a$, $2b$ or $2y$, 60 characters)' }),
    }),
  ]),
]);
export type PasswordInput = z.infer<typeof passwordSchema>;

export const permissionsSchema = z.union([z.enum(NAMED_PERMISSION_SETS), z.array(z.string())]);

export const userEntrySchema = z.strictObject({
  password: passwordSchema.nullish(),
  permissions: permissionsSchema.nullish(),
});
export type UserEntryInput = z.infer<typeof userEntrySchema>;

export const usersSchema = z.record(z.string(), userEntrySchema);

/** A legacy `op` / `presenter` / `other` entry. A missing username means "anyone" (the wildcard user). */
export const legacyPatternSchema = z.strictObject({
  username: z.string().nullish(),
  password: passwordSchema.nullish(),
});

/** A JWK: `kty` and `alg` are required (Galène refuses keys without `alg`); other members pass through. */
export const jwkSchema = z.looseObject({ kty: z.string(), alg: z.string() });

export const groupFileSchema = z.strictObject({
  displayName: z.string().nullish(),
  description: z.string().nullish(),
  contact: z.string().nullish(),
  comment: z.string().nullish(),
  public: z.boolean().nullish(),
  redirect: z.string().nullish(),
  'max-clients': z.number().int().nonnegative().nullish(),
  'max-history-age': z.number().int().nonnegative().nullish(),
  'not-before': rfc3339Schema.nullish(),
  expires: rfc3339Schema.nullish(),
  'allow-recording': z.boolean().nullish(),
  'unrestricted-tokens': z.boolean().nullish(),
  'auto-subgroups': z.boolean().nullish(),
  autolock: z.boolean().nullish(),
  autokick: z.boolean().nullish(),
  users: usersSchema.nullish(),
  'wildcard-user': userEntrySchema.nullish(),
  authKeys: z.array(jwkSchema).nullish(),
  authServer: z.string().nullish(),
  authPortal: z.string().nullish(),
  codecs: z.array(z.string()).nullish(),
  // Legacy keys, upgraded at load time.
  op: z.array(legacyPatternSchema).nullish(),
  presenter: z.array(legacyPatternSchema).nullish(),
  other: z.array(legacyPatternSchema).nullish(),
  'allow-subgroups': z.boolean().nullish(),
  'allow-anonymous': z.boolean().nullish(),
  // Lectern extensions.
  hls: z.boolean().nullish(),
  'members-see-recordings': z.boolean().nullish(),
});
export type GroupFileInput = z.infer<typeof groupFileSchema>;

/** A webhook endpoint (Lectern extension): events POSTed as JSON, signed with `secret`. */
export const webhookSchema = z.strictObject({
  url: urlString(['http:', 'https:']),
  /** Only these events (all when absent). */
  events: z.array(z.enum(EVENT_TYPES)).nullish(),
  secret: z.string().min(1, { message: 'secret must not be empty' }),
  /** Tries per event (default 5), first retry delay (default 1000 ms, doubling), per-try timeout (default 5000 ms). */
  attempts: z.number().int().min(1).max(20).nullish(),
  backoffMs: z.number().int().min(1).max(3_600_000).nullish(),
  timeoutMs: z.number().int().min(1).max(120_000).nullish(),
});

export const serverFileSchema = z.strictObject({
  users: usersSchema.nullish(),
  writableGroups: z.boolean().nullish(),
  allowOrigin: z.array(z.string()).nullish(),
  allowAdminOrigin: z.array(z.string()).nullish(),
  proxyURL: urlString().nullish(),
  canonicalHost: z.string().nullish(),
  // Legacy key, accepted and ignored (as Galène does).
  admin: z.array(legacyPatternSchema).nullish(),
  // Lectern extension.
  redis: urlString(['redis:', 'rediss:']).nullish(),
  /** Bearer token required by /metrics. */
  metricsToken: z.string().min(1).nullish(),
  webhooks: z.array(webhookSchema).nullish(),
  /** Clients get iceTransportPolicy "relay" (Galène's -relay-only). */
  relayOnly: z.boolean().nullish(),
  /** NAT 1:1: addresses announced in the server's host candidates (same as --public-address). */
  publicAddresses: z.array(z.union([z.ipv4(), z.ipv6()])).nullish(),
});
export type ServerFileInput = z.infer<typeof serverFileSchema>;
