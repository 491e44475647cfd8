/**
 * Redis URLs as Celery/Kombu accept them, turned into ioredis options.
 *
 * ```text
 * redis://[[user]:password@]host[:port][/db][?option=value]     plain TCP (default localhost:6379, db 0)
 * rediss://...                                                 TLS
 * ```
 * Query options: `ssl_cert_reqs` (rediss only: `required` (default), `optional` or `none`, Celery's
 * `CERT_*` spellings accepted) and `socket_connect_timeout` (seconds). Anything else is a ConfigError,
 * so a typo is not silently ignored.
 */
import type { RedisOptions } from 'ioredis';
import { ConfigError } from '../../errors';

export interface ParsedRedisUrl {
  /** host, port, username, password, db and tls, ready for `new Redis(options)`. */
  options: RedisOptions;
  /** Database number (also the `/{db}.` of Kombu's fanout channels). */
  db: number;
  tls: boolean;
  /** The URL with its password replaced by `***`, for logs and error messages. */
  redacted: string;
}

const SUPPORTED_QUERY = ['ssl_cert_reqs', 'socket_connect_timeout'] as const;

/** Parses a `redis://` or `rediss://` URL; throws ConfigError naming what is wrong. */
export function parseRedisUrl(url: string, key = 'brokerUrl'): ParsedRedisUrl {
  const bad = (why: string): never => {
    throw new ConfigError(key, `Invalid Redis URL "${redact(url)}": ${why}. Expected redis://[[user]:password@]host[:port][/db] or rediss://...`);
  };
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  if (!scheme) return bad('no scheme');
  if (scheme !== 'redis' && scheme !== 'rediss') {
    return bad(`scheme "${scheme}:" is not supported (sockets and sentinel are not implemented)`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return bad('it cannot be parsed (check the port and special characters in the password)');
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  let port = 6379;
  if (u.port !== '') {
    port = Number(u.port);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`port "${u.port}" is not a number from 1 to 65535`);
  }
  const path = u.pathname.replace(/^\/+/, '').replace(/\/+$/, '');
  let db = 0;
  if (path !== '') {
    if (!/^\d+$/.test(path)) return bad(`database "${path}" is not a number`);
    db = Number(path);
  }
  const tls = scheme === 'rediss';
  const options: RedisOptions = { host, port, db };
  if (u.username) options.username = decode(u.username, bad);
  if (u.password) options.password = decode(u.password, bad);

  let rejectUnauthorized = true;
  for (const [name, value] of u.searchParams) {
    switch (name) {
      case 'ssl_cert_reqs': {
        const v = value.toLowerCase().replace(/^cert_/, '');
        if (!tls) return bad('ssl_cert_reqs needs a rediss:// URL');
        if (v === 'none') rejectUnauthorized = false;
        else if (v !== 'required' && v !== 'optional') return bad(`ssl_cert_reqs must be required, optional or none, got "${value}"`);
        break;
      }
      case 'socket_connect_timeout': {
        const s = Number(value);
        if (!Number.isFinite(s) || s <= 0) return bad(`socket_connect_timeout must be a positive number of seconds, got "${value}"`);
        options.connectTimeout = Math.round(s * 1000);
        break;
      }
      default:
        return bad(`unknown option "${name}" (supported: ${SUPPORTED_QUERY.join(', ')})`);
    }
  }
  if (tls) options.tls = { servername: host, rejectUnauthorized };
  return { options, db, tls, redacted: redact(url) };
}

/** The URL with any password masked. */
export function redact(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

function decode(part: string, bad: (why: string) => never): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return bad('bad percent-encoding in the user or password');
  }
}
