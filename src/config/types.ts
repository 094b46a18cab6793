/**
 * The normalized, frozen shapes the rest of Lectern reads. The zod schemas in `schema.ts` describe the
 * files as written on disk; `groupDescription.ts` and `loadConfig.ts` turn them into these.
 */

/** The named permission sets a user entry may give instead of a raw array (`group/permissions.ts` expands them). */
export const NAMED_PERMISSION_SETS = ['op', 'present', 'message', 'observe', 'caption', 'admin'] as const;
export type NamedPermissionSet = (typeof NAMED_PERMISSION_SETS)[number];

/** Hashes a pbkdf2 password may name (Galène itself only implements `sha-256`). */
export const PBKDF2_HASHES = ['sha-256', 'sha-384', 'sha-512'] as const;
export type Pbkdf2Hash = (typeof PBKDF2_HASHES)[number];

/** A stored password. A bare string in a file becomes `{type:'plain'}`; pbkdf2 `key` and `salt` are hex. */
export type Password =
  | { readonly type: 'plain'; readonly key: string }
  | { readonly type: 'wildcard' }
  | {
      readonly type: 'pbkdf2';
      readonly hash: Pbkdf2Hash;
      readonly key: string;
      readonly salt: string;
      readonly iterations: number;
    }
  | { readonly type: 'bcrypt'; readonly key: string };

/**
 * One entry of `users` or `wildcard-user`. `permissions` is a named set (expanded per group with
 * `expandPermissions`) or a raw array taken as-is; a missing `permissions` is the empty raw array.
 * A user without a password can never log in with one (a token may still name them).
 */
export interface UserEntry {
  readonly password?: Password;
  readonly permissions: NamedPermissionSet | readonly string[];
}

/** Users by name: a frozen, prototype-less object (no inherited keys such as `constructor`). */
export type UserMap = Readonly<Record<string, UserEntry>>;

/** A JSON Web Key as found in `authKeys`; `kty` and `alg` are guaranteed to be strings. */
export type Jwk = Readonly<Record<string, unknown>> & { readonly kty: string; readonly alg: string };

/** A group, as read from `groups/<name>.json`, legacy keys upgraded and defaults applied. Deeply frozen. */
export interface GroupDescription {
  /** Group name: the file's path below the groups folder without `.json` (`a/b.json` is `a/b`). */
  readonly name: string;
  /** Absolute path of the file the description was read from (the parent's file for an auto-subgroup). */
  readonly file: string;
  /** mtime (ms) and size of that file when it was read: Galène's ETag is `"<size>-<mtime in ns>"`. */
  readonly mtimeMs: number;
  readonly size: number;
  /** True for a group created on the fly below a parent with `auto-subgroups`. */
  readonly isSubgroup: boolean;

  readonly displayName?: string;
  readonly description?: string;
  readonly contact?: string;
  readonly comment?: string;
  readonly public: boolean;
  readonly redirect?: string;
  /** 0 means unlimited (ops are exempt anyway). */
  readonly maxClients: number;
  /** Seconds chat history is kept; default 14400. */
  readonly maxHistoryAge: number;
  /** Join window, epoch milliseconds. */
  readonly notBefore?: number;
  readonly expires?: number;
  readonly allowRecording: boolean;
  readonly unrestrictedTokens: boolean;
  /** `auto-subgroups`, or the legacy `allow-subgroups`. */
  readonly autoSubgroups: boolean;
  readonly autolock: boolean;
  readonly autokick: boolean;

  /**
   * Named users, including the empty user `""`; legacy op/presenter/other entries are merged in.
   * A frozen object WITHOUT prototype, so `name in users` and `users[name]` are safe for any name.
   */
  readonly users: UserMap;
  readonly wildcardUser?: UserEntry;
  readonly authKeys: readonly Jwk[];
  readonly authServer?: string;
  readonly authPortal?: string;
  /** Codec names as written; default `["vp8","opus"]` when absent or empty. */
  readonly codecs: readonly string[];
  /**
   * Lectern extension: serve a live HLS feed of this group (`/group/<g>/.hls/`). Default: on for a lecture,
   * i.e. some named user may present and neither the wildcard user nor the user "" may (groupDescription.ts).
   */
  readonly hls: boolean;
  /**
   * Lectern extension: every member of the group (anyone who can join it) may list, watch and download its
   * recordings, without `record` (which also starts, stops and deletes them). Default off, as in Galène.
   */
  readonly membersSeeRecordings: boolean;
}

/** `data/config.json`, normalized and frozen. A missing file gives the defaults. */
export interface ServerFileConfig {
  /** Absolute path of config.json (whether or not it exists). */
  readonly file: string;
  /** mtime (ms) and size of the file, both 0 when it is missing: compare them to decide on a reload. */
  readonly mtimeMs: number;
  readonly size: number;
  /** Server administrators (for the admin API); permissions are usually `"admin"`. Prototype-less, frozen. */
  readonly users: UserMap;
  readonly writableGroups: boolean;
  /** Origins allowed for the WebSocket and WHIP; empty means same-origin only. */
  readonly allowOrigin: readonly string[];
  readonly allowAdminOrigin: readonly string[];
  readonly proxyURL?: string;
  readonly canonicalHost?: string;
  /** Lectern extension: Redis URL for the job queue (BullMQ); absent means the in-process queue. */
  readonly redis?: string;
  /** Lectern extension: bearer token required by /metrics (open when absent). */
  readonly metricsToken?: string;
  /** Lectern extension: webhook endpoints (none when absent). */
  readonly webhooks?: readonly WebhookConfig[];
  /** Lectern extension: clients relay all media through TURN (iceTransportPolicy "relay"). */
  readonly relayOnly?: boolean;
  /** Lectern extension: NAT 1:1 addresses announced in the host candidates (read at start). */
  readonly publicAddresses?: readonly string[];
}

/** One webhook endpoint of config.json. */
export interface WebhookConfig {
  readonly url: string;
  /** The event types sent; absent means all. */
  readonly events?: readonly string[];
  readonly secret: string;
  readonly attempts?: number;
  readonly backoffMs?: number;
  readonly timeoutMs?: number;
}
