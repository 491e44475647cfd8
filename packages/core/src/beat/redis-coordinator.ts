/**
 * Leader lease and run claims in Redis, so beat can run on every replica and each due run is sent once.
 *
 * - Lease: `SET <prefix>beat:leader <token> NX PX <lease>`, or PEXPIRE when the key still holds this
 *   beat's token (a beat that stepped down for a late renewal retakes its own key at once); renewed
 *   with PEXPIRE only while the key holds its token, deleted on stop; followers time their next try
 *   by its PTTL. When to take, renew and give up is LeaseCoordinator's (lease-coordinator.ts).
 * - Claims: before sending, the leader `SET <prefix>beat:run:<entry>:<ISO time> NX PX <ttl>`. Two
 *   leaders overlapping (a paused process waking up after its lease expired) cannot both send a run.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import { leaderKey, runKey } from './beat-keys';
import { LeaseCoordinator } from './lease-coordinator';

/** SET NX, or PEXPIRE when the key already holds this token (a renewal that came late retakes it). */
const TAKE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 1 end return 0`;
const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface RedisCoordinatorOptions {
  /** Key prefix. */
  prefix: string;
  /** Lease time in milliseconds. */
  leaseMs: number;
  logger?: Logger;
}

export class RedisCoordinator extends LeaseCoordinator {
  private readonly key: string;

  /** `client` is opened and closed by its owner (the Beat). */
  constructor(
    private readonly client: Redis,
    private readonly options: RedisCoordinatorOptions,
  ) {
    super({ leaseMs: options.leaseMs, logger: options.logger, store: 'Redis', label: 'Beat' });
    this.key = leaderKey(options.prefix);
  }

  /** This beat's lease token (the holder; shown by GET <prefix>beat:leader). */
  get token(): string {
    return this.holder;
  }

  protected async take(): Promise<boolean> {
    return (await this.client.eval(TAKE_SCRIPT, 1, this.key, this.holder, String(this.leaseMs))) === 1;
  }

  protected async renew(): Promise<boolean> {
    return (await this.client.eval(RENEW_SCRIPT, 1, this.key, this.holder, String(this.leaseMs))) === 1;
  }

  protected async remainingMs(): Promise<number | null> {
    const pttl = await this.client.pttl(this.key);
    return pttl >= 0 ? pttl : null;
  }

  protected async release(): Promise<void> {
    await this.client.eval(RELEASE_SCRIPT, 1, this.key, this.holder);
  }

  async claim(entry: string, runAt: Date, ttlMs: number): Promise<boolean> {
    return (await this.client.set(runKey(this.options.prefix, entry, runAt), this.holder, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async unclaim(entry: string, runAt: Date): Promise<void> {
    await this.client.eval(RELEASE_SCRIPT, 1, runKey(this.options.prefix, entry, runAt), this.holder);
  }
}
