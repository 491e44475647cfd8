/**
 * CSRF tokens without server state: HMAC(secret, actor). The page gets it in a meta tag and sends it
 * as `x-csrf-token`; another site can make the browser send cookies or basic credentials, but cannot
 * read the page, so it cannot know the token. Bearer-token clients are exempt (browsers never add
 * that header by themselves).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { safeEqual } from './auth';

/** Methods that need the token (POST too when it changes nothing, e.g. the schedule preview: one simple rule). */
export const CSRF_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** The request header that carries the token. */
export const CSRF_HEADER = 'x-csrf-token';

let processSecret: string | undefined;

/** The secret used when `csrfSecret` is not set: random, the same for the whole process. */
export function defaultCsrfSecret(): string {
  processSecret ??= randomBytes(32).toString('hex');
  return processSecret;
}

/** The CSRF token of an actor. */
export function csrfTokenFor(secret: string, actor: string): string {
  return createHmac('sha256', secret).update(`celeriac-beat-admin:${actor}`, 'utf8').digest('base64url');
}

/** True when `token` is the actor's token (constant time). */
export function verifyCsrfToken(secret: string, actor: string, token: string | undefined): boolean {
  return typeof token === 'string' && token.length > 0 && safeEqual(token, csrfTokenFor(secret, actor));
}
