/**
 * Who is asking: bearer token, basic auth, then the `authorize` hook. With nothing configured every
 * request is refused, so an admin mounted by mistake exposes nothing. Secrets are compared in constant
 * time (both sides hashed first, so their lengths leak nothing either).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { AdminError } from './admin-error';
import type { ResolvedAdminOptions } from './admin-options';
import type { AdminIdentity, AdminRequest } from './admin-types';

const REALM = 'Celeriac beat admin';

/** Constant-time equality of two strings. */
export function safeEqual(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a, 'utf8').digest();
  const hb = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(ha, hb);
}

const NOT_CONFIGURED =
  'The beat admin refuses every request until auth is configured. Pass auth: { basic: { username, password } } ' +
  '(the browser prompts), auth: { token } (scripts send "Authorization: Bearer <token>"), or ' +
  'auth: { authorize: (req) => ({ actor }) | null } to beatAdminRouter() or BeatAdminModule.forRoot().';

function parseAuthorization(header: string | undefined): { scheme: string; value: string } | null {
  const match = header ? /^\s*(\S+)\s+(\S.*?)\s*$/.exec(header) : null;
  return match ? { scheme: match[1]!.toLowerCase(), value: match[2]! } : null;
}

function basicUser(value: string, users: NonNullable<ResolvedAdminOptions['auth']['basic']>): string | null {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  const username = decoded.slice(0, colon);
  const password = decoded.slice(colon + 1);
  let found: string | null = null;
  // Every user is checked, so the time taken does not tell which usernames exist.
  for (const user of users) {
    const ok = safeEqual(username, user.username) && safeEqual(password, user.password);
    if (ok && found === null) found = user.username;
  }
  return found;
}

/** The identity of the request, or throws the 401/403 AdminError to answer with. */
export async function authenticate(req: AdminRequest, auth: ResolvedAdminOptions['auth']): Promise<AdminIdentity> {
  const { basic, token, authorize } = auth;
  if (!basic && token === undefined && !authorize) throw new AdminError(403, 'AUTH_NOT_CONFIGURED', NOT_CONFIGURED);
  const credentials = parseAuthorization(req.headers.authorization);
  if (credentials?.scheme === 'bearer' && token !== undefined && safeEqual(credentials.value, token)) return { actor: 'token', viaToken: true };
  if (credentials?.scheme === 'basic' && basic) {
    const user = basicUser(credentials.value, basic);
    if (user !== null) return { actor: user };
  }
  if (authorize) {
    const identity = await authorize(req);
    if (identity && typeof identity.actor === 'string' && identity.actor) return { actor: identity.actor.slice(0, 200), viaToken: identity.viaToken === true };
    if (!basic && token === undefined) throw new AdminError(403, 'FORBIDDEN', 'Access to the beat admin was refused.');
  }
  // Basic first: that challenge makes a browser show its login prompt.
  const challenges = [...(basic ? [`Basic realm="${REALM}", charset="UTF-8"`] : []), ...(token !== undefined ? [`Bearer realm="${REALM}"`] : [])];
  const how = basic && token !== undefined ? 'basic auth or a bearer token' : basic ? 'basic auth' : 'a bearer token ("Authorization: Bearer <token>")';
  throw new AdminError(401, 'UNAUTHENTICATED', `Sign in to the beat admin with ${how}.`, undefined, { 'www-authenticate': challenges.join(', ') });
}
