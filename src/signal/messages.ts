/**
 * Galène protocol v2: the single message envelope (galene-protocol.md §2.3) and its validation.
 * Every field is optional on the wire; `parseMessage` checks the types of the fields that are present.
 */
export interface IceCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
  usernameFragment?: string | null;
}

export interface Message {
  type: string;
  version?: string[];
  kind?: string;
  error?: string;
  id?: string;
  replace?: string;
  source?: string;
  dest?: string;
  username?: string;
  password?: string;
  token?: string;
  privileged?: boolean;
  permissions?: string[];
  status?: Record<string, unknown>;
  data?: Record<string, unknown>;
  group?: string;
  value?: unknown;
  noecho?: boolean;
  time?: string;
  sdp?: string;
  candidate?: IceCandidateInit;
  label?: string;
  request?: unknown;
  rtcConfiguration?: unknown;
}

export const MAX_FRAME_BYTES = 1 << 20;

/** A client error that breaks the protocol: answered with usermessage error, then close 1002. */
export class ProtocolError extends Error {
  readonly code = 'protocol-error';
}

const STRING_FIELDS = [
  'type', 'kind', 'error', 'id', 'replace', 'source', 'dest', 'username', 'password', 'token',
  'group', 'time', 'sdp', 'label',
] as const;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** Parses one text frame; throws ProtocolError naming what is wrong. */
export function parseMessage(text: string): Message {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new ProtocolError('malformed JSON');
  }
  if (!isPlainObject(raw)) throw new ProtocolError('a message must be a JSON object');
  for (const field of STRING_FIELDS) {
    const v = raw[field];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      throw new ProtocolError(`field "${field}" must be a string`);
    }
    if (v === null) delete raw[field];
  }
  if (typeof raw.type !== 'string' || raw.type === '') throw new ProtocolError('missing message type');
  for (const field of ['version', 'permissions'] as const) {
    if (raw[field] != null && !isStringArray(raw[field])) {
      throw new ProtocolError(`field "${field}" must be an array of strings`);
    }
  }
  for (const field of ['privileged', 'noecho'] as const) {
    if (raw[field] != null && typeof raw[field] !== 'boolean') {
      throw new ProtocolError(`field "${field}" must be a boolean`);
    }
  }
  for (const field of ['data', 'status'] as const) {
    if (raw[field] != null && !isPlainObject(raw[field])) {
      throw new ProtocolError(`field "${field}" must be an object`);
    }
  }
  if (raw.candidate != null) {
    const c = raw.candidate;
    if (!isPlainObject(c) || typeof c.candidate !== 'string') {
      throw new ProtocolError('field "candidate" must be an ICE candidate object');
    }
  }
  return raw as unknown as Message;
}

/** Serializes a message, dropping empty top-level fields as Galène's `omitempty` does. */
export function serializeMessage(m: Message): string {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(m)) {
    if (value === undefined || value === null || value === '' || value === false) continue;
    if (Array.isArray(value) && value.length === 0 && key !== 'permissions') continue;
    out[key] = value;
  }
  return JSON.stringify(out);
}
