import { LecternError } from '../errors.js';
import { NAMED_PERMISSION_SETS, type GroupDescription, type NamedPermissionSet } from '../config/types.js';

export { NAMED_PERMISSION_SETS, type NamedPermissionSet };

/** What each named set grants before the group's options are applied. */
const BASE: Readonly<Record<NamedPermissionSet, readonly string[]>> = {
  op: ['op', 'present', 'message', 'caption', 'token'],
  present: ['present', 'message'],
  message: ['message'],
  observe: [],
  caption: ['caption'],
  admin: ['admin'],
};

export function isNamedPermissionSet(s: string): s is NamedPermissionSet {
  return (NAMED_PERMISSION_SETS as readonly string[]).includes(s);
}

/**
 * The permissions a user entry grants in a group. A named set is expanded (`op` also gets `record` when
 * the group has `allow-recording`; a set containing `present` also gets `token` when it has
 * `unrestricted-tokens`); a raw array is taken as-is. Without a group (config.json admins) only the base
 * table applies. An unknown set name throws `permissions-unknown`. Returns a fresh array.
 */
export function expandPermissions(
  p: string | readonly string[],
  desc?: Partial<Pick<GroupDescription, 'allowRecording' | 'unrestrictedTokens'>>,
): string[] {
  if (typeof p !== 'string') return [...p];
  if (!isNamedPermissionSet(p)) throw new LecternError('permissions-unknown', `unknown permission set "${p}"`);
  const out = [...BASE[p]];
  if (desc?.allowRecording && out.includes('op') && !out.includes('record')) out.push('record');
  if (desc?.unrestrictedTokens && out.includes('present') && !out.includes('token')) out.push('token');
  return out;
}
