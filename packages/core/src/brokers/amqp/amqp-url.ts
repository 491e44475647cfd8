/**
 * AMQP URLs as Celery/Kombu accept them, turned into amqplib connect options.
 *
 * ```text
 * amqp://[user[:password]@]host[:port][/vhost][?option=value]    plain TCP (user and password default to guest, port 5672, vhost "/")
 * amqps://...                                                     TLS (default port 5671)
 * pyamqp://...                                                    Celery's name for the same transport, accepted as amqp://
 * ```
 * The vhost is the path without its first slash, percent-decoded, as Kombu reads it: `amqp://h/` and
 * `amqp://h//` are both vhost "/", `amqp://h/%2Fprod` is "/prod", `amqp://h/prod` is "prod".
 *
 * Query options: `heartbeat` (seconds, 0 disables; wins over the broker's `heartbeat` option),
 * `connect_timeout` (seconds; wins over `connectionTimeout`). Anything else is a ConfigError, so a
 * typo is not silently ignored.
 */
import type { Options } from 'amqplib';
import { ConfigError } from '../../errors';

export interface ParsedAmqpUrl {
  /** host, port, credentials and vhost, ready for amqplib's `connect(options)`. */
  connect: Options.Connect;
  tls: boolean;
  vhost: string;
  /** From the query; undefined when absent. */
  heartbeat?: number;
  /** Milliseconds, from the query's connect_timeout; undefined when absent. */
  connectTimeoutMs?: number;
  /** The URL with its password replaced by `***`, for logs and error messages. */
  redacted: string;
}

const SUPPORTED_QUERY = ['heartbeat', 'connect_timeout'] as const;

/** Parses an `amqp://` or `amqps://` URL; throws ConfigError naming what is wrong. */
export function parseAmqpUrl(url: string, key = 'brokerUrl'): ParsedAmqpUrl {
  const bad = (why: string): never => {
    throw new ConfigError(key, `Invalid AMQP URL "${redactAmqp(url)}": ${why}. Expected amqp://[user[:password]@]host[:port][/vhost] or amqps://...`);
  };
  const given = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  const scheme = given === 'pyamqp' ? 'amqp' : given;
  if (scheme !== 'amqp' && scheme !== 'amqps') return bad(`scheme "${given ?? ''}:" is not amqp:, amqps: or pyamqp:`);
  let u: URL;
  try {
    // WHATWG URL only parses authority and path for special schemes: parse it as http(s).
    u = new URL(url.replace(/^(py)?amqps?:/i, scheme === 'amqps' ? 'https:' : 'http:'));
  } catch {
    return bad('it cannot be parsed (check the port and special characters in the password)');
  }
  const tls = scheme === 'amqps';
  const hostname = u.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost';
  let port = tls ? 5671 : 5672;
  // new URL() drops the scheme's default port (80/443): read it from the text
  const explicitPort = /^[a-z]+:\/\/(?:[^@/]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d*)/i.exec(url)?.[1];
  if (explicitPort) {
    port = Number(explicitPort);
    if (!Number.isInteger(port) || port < 1 || port > 65535) return bad(`port "${explicitPort}" is not a number from 1 to 65535`);
  }
  const path = u.pathname.slice(1);
  let vhost = '/';
  if (path !== '') vhost = decode(path, bad);
  const connect: Options.Connect = {
    protocol: scheme,
    hostname,
    port,
    vhost,
    // Kombu fills each missing credential with its default, guest
    username: u.username ? decode(u.username, bad) : 'guest',
    password: u.password ? decode(u.password, bad) : 'guest',
  };
  const parsed: ParsedAmqpUrl = { connect, tls, vhost, redacted: redactAmqp(url) };
  for (const [name, value] of u.searchParams) {
    const seconds = Number(value);
    switch (name) {
      case 'heartbeat':
        if (!Number.isFinite(seconds) || seconds < 0) return bad(`heartbeat must be a number of seconds >= 0, got "${value}"`);
        parsed.heartbeat = seconds;
        break;
      case 'connect_timeout':
        if (!Number.isFinite(seconds) || seconds <= 0) return bad(`connect_timeout must be a positive number of seconds, got "${value}"`);
        parsed.connectTimeoutMs = Math.round(seconds * 1000);
        break;
      default:
        return bad(`unknown option "${name}" (supported: ${SUPPORTED_QUERY.join(', ')})`);
    }
  }
  return parsed;
}

/** The URL with any password masked. */
export function redactAmqp(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]*:)[^@/]*@/i, '$1***@');
}

function decode(part: string, bad: (why: string) => never): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return bad('bad percent-encoding in the user, password or vhost');
  }
}
