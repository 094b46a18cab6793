import type { Request } from 'express';
import type { GroupDescription } from '../../config/types.js';
import { isJwtShaped, verifyGroupJwt } from '../../group/jwt.js';
import { authenticateUser, verifyPassword } from '../../group/passwords.js';
import { checkStatefulToken } from '../../group/tokens/StatefulToken.js';
import type { TokenStore } from '../../group/tokens/TokenStore.js';
import { checkAdmin, type AdminUsers } from '../adminAuth.js';
import { ApiError } from './http.js';

export interface AdminAuthDeps {
  admins(): AdminUsers;
  /** The group's loaded description (GroupStore.get), for group users and authKeys. */
  group(name: string): GroupDescription | undefined;
  tokens: TokenStore | undefined;
  canonicalHost(): string | undefined;
}

interface BasicCreds {
  username: string;
  password: string;
}

function basicCreds(header: string | undefined): BasicCreds | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function bearerToken(header: string | undefined): string | undefined {
  for (const part of (header ?? '').split(',')) {
    const m = /^\s*Bearer\s+(\S+)\s*$/i.exec(part);
    if (m) return m[1];
  }
  return undefined;
}

/**
 * Whether the request comes from an administrator: HTTP Basic against config.json's admins; or, for a
 * group's resources, a user of that group whose permissions include `admin`; or a Bearer token (stateful,
 * or a JWT from the group's authKeys) carrying `admin` and valid for that group (for server-wide resources,
 * only a global stateful token: group "" with includeSubgroups).
 */
export async function isAdmin(deps: AdminAuthDeps, req: Request, groupName: string | undefined): Promise<boolean> {
  const header = req.headers.authorization;
  const basic = basicCreds(header);
  if (basic && (await checkAdmin(header, deps.admins()))) return true;
  const desc = groupName !== undefined ? deps.group(groupName) : undefined;
  if (basic && desc) {
    const r = await authenticateUser(desc, basic.username, basic.password);
    if (r.ok && r.permissions.includes('admin')) return true;
  }
  const bearer = bearerToken(header);
  if (bearer === undefined) return false;
  if (isJwtShaped(bearer)) {
    if (!desc || desc.authKeys.length === 0) return false;
    try {
      const claims = verifyGroupJwt(bearer, { keys: desc.authKeys, groupName: desc.name, canonicalHost: deps.canonicalHost() });
      return claims.permissions.includes('admin');
    } catch {
      return false;
    }
  }
  const t = deps.tokens?.get(bearer);
  if (!t) return false;
  try {
    checkStatefulToken(t, groupName ?? '', deps.tokens!.now());
  } catch {
    return false;
  }
  return t.permissions.includes('admin');
}

/**
 * For `.password`: an administrator, or the user themself proving their current password (what Galène's
 * change-password page does).
 */
export async function isAdminOrSelf(
  deps: AdminAuthDeps,
  req: Request,
  groupName: string,
  username: string,
): Promise<boolean> {
  const basic = basicCreds(req.headers.authorization);
  const desc = deps.group(groupName);
  if (basic && desc && basic.username === username && Object.hasOwn(desc.users, username)) {
    if (await verifyPassword(desc.users[username]!.password, basic.password)) return true;
  }
  return isAdmin(deps, req, groupName);
}

/** Throws the 401 that makes a browser ask for credentials. */
export async function requireAdmin(deps: AdminAuthDeps, req: Request, groupName: string | undefined): Promise<void> {
  if (!(await isAdmin(deps, req, groupName))) throw unauthorised();
}

export function unauthorised(): ApiError {
  return new ApiError(401, 'not authorised', { 'WWW-Authenticate': 'Basic realm="/galene-api/"' });
}
