/**
 * Global rate limits: at most N per second of a task type across every worker, shared through Redis.
 *
 * Same shape as the per-worker bucket (rate-limit.ts): each task reserves the next free slot and
 * waits for it outside the pool, held like an ETA task. The reservation is one Lua script, so two
 * workers never take the same slot, and its clock is Redis's TIME, so worker clocks do not matter.
 * Key: `<rateLimitKeyPrefix>ratelimit:<task>`, holding the next free time in microseconds; it expires
 * one second after that time, so an idle task leaves nothing behind.
 *
 * Redis unreachable (or too slow to answer): the task runs without the global limit (the per-worker
 * limit still applies) and a warning is logged once per outage; delaying every task until Redis is
 * back would stop the worker for an outage of a component it does not otherwise need.
 */
import Redis from 'ioredis';
import type { Logger } from '../logging/logger';
import { parseRedisUrl } from '../brokers/redis/redis-url';

// KEYS[1]: the task's key; ARGV[1]: slot length in microseconds. Returns the wait in microseconds.
// replicate_commands: a write after TIME needs effects replication before Redis 5 (a no-op since).
const RESERVE = `
redis.replicate_commands()
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
local at = math.max(now, nxt)
local after = at + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.floor((after - now) / 1000) + 1000)
return at - now
`;

export interface GlobalRateLimiterOptions {
  /** redis:// or rediss:// URL. */
  url: string;
  /** Prefix of the keys. @defaultValue 'celeriac:' */
  keyPrefix?: string;
  logger?: Logger;
  /** Ms to wait for Redis's answer before running without the limit. @defaultValue 2000 */
  timeoutMs?: number;
}

type ReserveClient = Redis & { celeriacReserveSlot(key: string, intervalUs: number): Promise<number> };

export class GlobalRateLimiter {
  private readonly client: ReserveClient;
  private readonly prefix: string;
  private readonly timeoutMs: number;
  private failing = false;

  constructor(private readonly options: GlobalRateLimiterOptions) {
    const parsed = parseRedisUrl(options.url, 'rateLimitRedisUrl');
    this.prefix = options.keyPrefix ?? 'celeriac:';
    this.timeoutMs = options.timeoutMs ?? 2000;
    // No offline queue: while disconnected a reservation fails at once instead of piling up.
    const client = new Redis({ ...parsed.options, lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    client.on('error', () => undefined); // reported by reserve(), once per outage
    client.defineCommand('celeriacReserveSlot', { numberOfKeys: 1, lua: RESERVE });
    this.client = client as ReserveClient;
  }

  /** The Redis key of a task's bucket. */
  keyOf(task: string): string {
    return `${this.prefix}ratelimit:${task}`;
  }

  async connect(): Promise<void> {
    if (this.client.status === 'wait') await this.client.connect().catch((err: unknown) => this.report(err));
  }

  /** Takes the next slot of `task` at `perSecond` across all workers: 0 to run now, else the wait in ms. */
  async reserve(task: string, perSecond: number): Promise<number> {
    const intervalUs = Math.max(1, Math.round(1_000_000 / perSecond));
    if (this.client.status === 'wait') await this.connect();
    let timer: NodeJS.Timeout | undefined;
    try {
      const waitUs = await Promise.race([
        this.client.celeriacReserveSlot(this.keyOf(task), intervalUs),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer from Redis within ${this.timeoutMs} ms`)), this.timeoutMs);
        }),
      ]);
      if (this.failing) {
        this.failing = false;
        this.options.logger?.info({ task }, 'Global rate limits apply again: Redis answers');
      }
      return Math.max(0, Number(waitUs)) / 1000;
    } catch (err) {
      this.report(err, task);
      return 0;
    } finally {
      clearTimeout(timer);
    }
  }

  private report(err: unknown, task?: string): void {
    if (this.failing) return;
    this.failing = true;
    this.options.logger?.warn({ err, task }, 'Global rate limits are not applied: Redis is unreachable (tasks run with their per-worker limits only until it answers again)');
  }

  async close(): Promise<void> {
    if (this.client.status === 'end') return;
    // not connected (never, or reconnecting): just stop trying
    if (this.client.status !== 'ready') this.client.disconnect();
    else await this.client.quit().catch(() => this.client.disconnect());
  }
}
