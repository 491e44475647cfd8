/**
 * A worker's rate limits per task type: the per-worker bucket (rateLimit, taskDefaultRateLimit,
 * remote `rate_limit`) and the global one shared through Redis (globalRateLimit,
 * taskDefaultGlobalRateLimit). The remote `rate_limit` command changes the per-worker limit only.
 */
import type { CeleriacSettings } from '../app/settings';
import { ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import type { AnyTask } from '../task/task';
import { GlobalRateLimiter } from './global-rate-limit';
import { RateLimiter, parseRateLimit } from './rate-limit';

/** The Redis URL global rate limits use: rateLimitRedisUrl, else a redis(s):// broker URL. */
export function rateLimitRedisUrl(conf: CeleriacSettings): string | undefined {
  return conf.rateLimitRedisUrl ?? (/^rediss?:/i.test(conf.brokerUrl) ? conf.brokerUrl : undefined);
}

export function noRedisError(what: string): ConfigError {
  return new ConfigError(
    'rateLimitRedisUrl',
    `${what} sets a global rate limit, which needs Redis: set rateLimitRedisUrl (e.g. redis://localhost:6379/0) or use a redis:// brokerUrl.`,
  );
}

export class LimitGate {
  readonly local: RateLimiter;
  private global: GlobalRateLimiter | undefined;
  private readonly globalRates = new Map<string, number | null>();

  constructor(
    private readonly conf: CeleriacSettings,
    private readonly logger: Logger,
    local = new RateLimiter(),
  ) {
    this.local = local;
  }

  /** Checks the global limits of `tasks` (a ConfigError when one is set with no Redis) and connects when any is. */
  async start(tasks: readonly AnyTask[]): Promise<void> {
    const limited = tasks.filter((t) => this.globalRate(t) !== null);
    if (limited.length) await this.globalLimiter(`Task "${limited[0]!.taskName}"`).connect();
  }

  /** Takes the task's per-worker slot: 0 to go on now, else the wait in ms. */
  localWait(task: AnyTask): number {
    const name = task.taskName;
    if (this.local.rateOf(name) === undefined) this.local.setRate(name, parseRateLimit(task.options.rateLimit ?? this.conf.taskDefaultRateLimit));
    return this.local.reserve(name);
  }

  /** Whether the task has a global limit (then globalWait costs a Redis round trip). */
  hasGlobal(task: AnyTask): boolean {
    return this.globalRate(task) !== null;
  }

  /** Takes the task's global slot (one Redis round trip when it has a global limit): 0 or the wait in ms. */
  async globalWait(task: AnyTask): Promise<number> {
    const rate = this.globalRate(task);
    if (rate === null) return 0;
    return this.globalLimiter(`Task "${task.taskName}"`).reserve(task.taskName, rate);
  }

  private globalRate(task: AnyTask): number | null {
    let rate = this.globalRates.get(task.taskName);
    if (rate === undefined) {
      rate = parseRateLimit(task.options.globalRateLimit ?? this.conf.taskDefaultGlobalRateLimit, `globalRateLimit of ${task.taskName}`);
      this.globalRates.set(task.taskName, rate);
    }
    return rate;
  }

  private globalLimiter(what: string): GlobalRateLimiter {
    if (this.global) return this.global;
    const url = rateLimitRedisUrl(this.conf);
    if (!url) throw noRedisError(what);
    this.global = new GlobalRateLimiter({ url, keyPrefix: this.conf.rateLimitKeyPrefix, logger: this.logger });
    return this.global;
  }

  async close(): Promise<void> {
    await this.global?.close();
  }
}
