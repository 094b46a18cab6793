/**
 * A group's authServer, as Galène's client uses it: POST `{location, username, password}` as JSON; a 200 of
 * type application/jwt is a token to join with, a 204 means "use the password with the server", a 403 refuses.
 */

export type AuthAnswer =
  | { kind: 'token'; token: string }
  | { kind: 'password' }
  | { kind: 'refused' }
  | { kind: 'error'; why: string };

export async function askAuthServer(authServer: string, location: string, username: string, password: string): Promise<AuthAnswer> {
  let res: Response;
  try {
    res = await fetch(authServer, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ location, username, password }),
    });
  } catch (err) {
    return { kind: 'error', why: err instanceof Error ? err.message : String(err) };
  }
  if (res.status === 204) return { kind: 'password' };
  if (res.status === 403) return { kind: 'refused' };
  if (res.status === 200) {
    const type = (res.headers.get('Content-Type') ?? '').split(';')[0]?.trim().toLowerCase();
    if (type !== 'application/jwt') return { kind: 'error', why: `unexpected content type ${type || '(none)'}` };
    const token = (await res.text()).trim();
    return token ? { kind: 'token', token } : { kind: 'error', why: 'empty token' };
  }
  return { kind: 'error', why: `HTTP ${res.status} ${res.statusText}`.trim() };
}
