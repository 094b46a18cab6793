import { setTimeout as sleep } from 'node:timers/promises';
import type { GroupDescription } from '../config/GroupStore.js';
import { isJwtShaped, verifyGroupJwt } from './jwt.js';
import { authenticateUser } from './passwords.js';
import { checkStatefulToken, TokenError } from './tokens/StatefulToken.js';
import type { TokenStore } from './tokens/TokenStore.js';

export interface Credentials {
  username?: string;
  password?: string;
  token?: string;
}

export type Identity =
  | { ok: true; username: string; permissions: string[] }
  | { ok: false; code: string; value: string; wireError?: 'need-username' | 'duplicate-username' };

/** Galène sleeps after a failed login, to slow down password guessing. */
const FAILED_LOGIN_DELAY_MS = 200;

const notAuthorised = async (): Promise<Identity> => {
  await sleep(FAILED_LOGIN_DELAY_MS);
  return { ok: false, code: 'not-authorised', value: 'not authorised' };
};

/**
 * Decides who a joining client is and what it may do: a JWT from the group's authKeys, a stateful token
 * from `tokens` (any token that is not JWT-shaped), or a username and password checked against `users`
 * then `wildcard-user`.
 */
export async function authorise(
  desc: GroupDescription,
  groupName: string,
  creds: Credentials,
  canonicalHost?: string,
  tokens?: Pick<TokenStore, 'get' | 'now'>,
): Promise<Identity> {
  if (creds.token) {
    let claims: { username?: string; permissions: readonly string[] };
    if (isJwtShaped(creds.token)) {
      if (desc.authKeys.length === 0) return notAuthorised();
      try {
        claims = verifyGroupJwt(creds.token, {
          keys: desc.authKeys,
          groupName,
          canonicalHost,
        });
      } catch {
        return notAuthorised();
      }
    } else {
      const stored = tokens?.get(creds.token);
      if (stored === undefined) return notAuthorised();
      try {
        checkStatefulToken(stored, groupName, tokens!.now());
      } catch (err) {
        if (!(err instanceof TokenError)) throw err;
        await sleep(FAILED_LOGIN_DELAY_MS);
        return { ok: false, code: err.code, value: `not authorised: ${err.message}` };
      }
      claims = stored;
    }
    const username = claims.username ?? creds.username;
    if (username === undefined) {
      return { ok: false, code: 'need-username', value: 'username required', wireError: 'need-username' };
    }
    if (claims.username === undefined && username in desc.users) {
      return {
        ok: false,
        code: 'duplicate-username',
        value: 'this username is taken',
        wireError: 'duplicate-username',
      };
    }
    return { ok: true, username, permissions: [...claims.permissions] };
  }
  if (creds.username === undefined) return notAuthorised();
  const result = await authenticateUser(desc, creds.username, creds.password);
  if (!result.ok) return notAuthorised();
  return { ok: true, username: creds.username, permissions: result.permissions };
}

