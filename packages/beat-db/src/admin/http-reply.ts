/** An AdminResponse as status, headers and body text: what every adapter writes, so they stay thin. */
import type { AdminResponse } from './admin-types';

export interface HttpReply {
  status: number;
  /** Lower-case names. */
  headers: Record<string, string>;
  /** Undefined for 204 and HEAD-like empty answers. */
  body: string | undefined;
}

/** Headers on every answer: no caching of task data, no framing (clickjacking), no MIME sniffing. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // The page loads only its own script and style (no inline code), so everything else can be refused.
  'content-security-policy': "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'referrer-policy': 'same-origin',
};

/** JSON with <, > and & escaped, so even a response read as HTML cannot open a tag. */
export function safeJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The reply to write: security headers, content type, JSON serialised safely. */
export function toHttpReply(response: AdminResponse): HttpReply {
  const headers: Record<string, string> = { ...SECURITY_HEADERS };
  for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
  if (response.status === 204 || response.body === undefined) return { status: response.status, headers, body: undefined };
  if (response.contentType) {
    headers['content-type'] = response.contentType;
    return { status: response.status, headers, body: typeof response.body === 'string' ? response.body : safeJson(response.body) };
  }
  headers['content-type'] = 'application/json; charset=utf-8';
  return { status: response.status, headers, body: safeJson(response.body) };
}
