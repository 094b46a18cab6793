import type { GroupDescription } from '../../config/GroupStore.js';
import { authorise } from '../../group/authorise.js';

/** `mayChange`: the user holds `record` (delete); without it, with `members-see-recordings`, read-only. */
export type RecordingsAuth =
  | { ok: true; username: string; mayChange: boolean }
  | { ok: false; status: 401 | 403; message: string };

/** `Authorization: Basic base64(user:password)` -> its parts; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): { username: string; password: string } | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * HTTP Basic against the group's users (as a join would check them); the user must hold `record` in that
 * group, or be a member of a group with `members-see-recordings` (read-only). No or wrong credentials: 401;
 * right credentials without either: 403, saying what is missing.
 */
export async function checkRecordAccess(
  desc: GroupDescription,
  group: string,
  authorization: string | undefined,
): Promise<RecordingsAuth> {
  const creds = parseBasicAuth(authorization);
  const needs = desc.membersSeeRecordings
    ? 'log in as a member of this group'
    : 'log in as a user of this group with the record permission (or the group needs the option members-see-recordings)';
  if (!creds) return { ok: false, status: 401, message: `authentication required: ${needs}` };
  const identity = await authorise(desc, group, creds);
  if (!identity.ok) return { ok: false, status: 401, message: `not authorised (wrong user name or password): ${needs}` };
  const mayChange = identity.permissions.includes('record');
  if (!mayChange && !desc.membersSeeRecordings) {
    const who = identity.username || 'this user';
    return {
      ok: false,
      status: 403,
      message: `${who} may not see the recordings of this group: that needs the record permission, or "members-see-recordings": true in the group file`,
    };
  }
  return { ok: true, username: identity.username, mayChange };
}
