import type { UserEntry } from '../config/schema.js';
import { verifyPassword } from '../group/passwords.js';

/** config.json `users`: the server's administrators. */
export type AdminUsers = Readonly<Record<string, UserEntry>>;

/** HTTP Basic against config.json's users that hold the `admin` permission. */
export async function checkAdmin(authorization: string | undefined, admins: AdminUsers): Promise<boolean> {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization ?? '');
  if (!match) return false;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const user = admins[decoded.slice(0, colon)];
  if (!user?.password) return false;
  const perms = typeof user.permissions === 'string' ? [user.permissions] : user.permissions ?? [];
  if (!perms.includes('admin')) return false;
  return verifyPassword(user.password, decoded.slice(colon + 1));
}
