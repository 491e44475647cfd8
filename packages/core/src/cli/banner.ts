/**
 * The worker's start-up banner: the facts of Celery's (celery/apps/worker.py BANNER and
 * `startup_info`) without its ASCII art. Passwords in URLs are masked.
 *
 * ```text
 * celeriac@host v0.1.0 (Node v20.19.0)
 *
 * Linux-6.1.0-x86_64 2026-01-01 12:00:00
 *
 * [config]
 * .> app:         proj (dist/worker.js:app)
 * .> transport:   redis://:***@localhost:6379/0
 * .> results:     redis://:***@localhost:6379/0
 * .> concurrency: 8 (async)
 * .> task events: OFF (enable -E to monitor tasks in this worker)
 *
 * [queues]
 * .> celery           exchange=celery(direct) key=celery
 *
 * [tasks]
 *   . math.add
 * ```
 */
import { arch, release, type } from 'node:os';

export interface BannerQueue {
  name: string;
  exchange: string;
  exchangeType: string;
  routingKey: string;
}

/** Everything the banner shows, already in display form except the URLs (masked here). */
export interface BannerInfo {
  hostname: string;
  version: string;
  /** App name (conf.main) and where it was loaded from. */
  app: string;
  /** Task events sent (-E, workerSendTaskEvents). */
  taskEvents?: boolean;
  brokerUrl: string;
  /** undefined: results disabled. */
  resultBackend: string | undefined;
  concurrency: number;
  /** Pool kind (and autoscale range) shown after the concurrency. @defaultValue 'async' */
  pool?: string;
  queues: readonly BannerQueue[];
  /** Registered task names; undefined hides the [tasks] section (log level above info, as Celery). */
  tasks: readonly string[] | undefined;
  /** @defaultValue now */
  timestamp?: Date;
  /** @defaultValue `${os.type()}-${os.release()}-${os.arch()}` */
  platform?: string;
}

/**
 * The URL with the password of its user-info replaced by `***` (`redis://:***@host:6379/0`).
 * A URL that does not parse is returned with everything between `://` and the last `@` masked.
 */
export function maskUrl(url: string): string {
  const m = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/is.exec(url);
  if (!m) return url;
  const [, scheme, authority, rest] = m as unknown as [string, string, string, string];
  const at = authority.lastIndexOf('@');
  if (at === -1) {
    // A password containing '/' (not percent-encoded) leaves the '@' in `rest`.
    const late = rest.lastIndexOf('@');
    const colon = authority.indexOf(':');
    if (late === -1 || colon === -1 || /[?#]/.test(rest.slice(0, late)) || /^\d*$/.test(authority.slice(colon + 1))) return url;
    return `${scheme}${authority.slice(0, colon)}:***@${rest.slice(late + 1)}`;
  }
  const userinfo = authority.slice(0, at);
  const colon = userinfo.indexOf(':');
  if (colon === -1) return url;
  return `${scheme}${userinfo.slice(0, colon)}:***@${authority.slice(at + 1)}${rest}`;
}

function formatTimestamp(date: Date): string {
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The banner text, ending with a newline. */
export function formatBanner(info: BannerInfo): string {
  const platform = info.platform ?? `${type()}-${release()}-${arch()}`;
  const lines = [
    `${info.hostname} v${info.version} (Node ${process.version})`,
    '',
    `${platform} ${formatTimestamp(info.timestamp ?? new Date())}`,
    '',
    '[config]',
    `.> app:         ${info.app}`,
    `.> transport:   ${maskUrl(info.brokerUrl)}`,
    `.> results:     ${info.resultBackend ? maskUrl(info.resultBackend) : 'disabled://'}`,
    `.> concurrency: ${info.concurrency} (${info.pool ?? 'async'})`,
    `.> task events: ${info.taskEvents ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)'}`,
    '',
    '[queues]',
    ...info.queues.map((q) => `.> ${q.name.padEnd(16)} exchange=${q.exchange}(${q.exchangeType}) key=${q.routingKey}`),
  ];
  if (info.tasks) {
    lines.push('', '[tasks]', ...(info.tasks.length ? info.tasks.map((t) => `  . ${t}`) : ['  (none registered)']));
  }
  return lines.join('\n') + '\n\n';
}
