/**
 * Leader lease and run claims in Redis, so beat can run on every replica and each due run is sent once.
 *
 * - Lease: `SET <prefix>beat:leader <token> NX PX <lease>`. The leader renews it every third of the
 *   lease (only while the key still holds its token) and deletes it on stop. A beat counts itself
 *   leader until its last successful renewal + lease, by its own clock, so it stops sending before
 *   the key can expire in Redis. Followers retry when the key is due to expire (PTTL), at the latest
 *   every third of the lease: a dead leader is replaced within the lease time.
 * - Claims: before sending, the leader `SET <prefix>beat:run:<entry>:<ISO time> NX PX <ttl>`. Two
 *   leaders overlapping (a paused process waking up after its lease expired) cannot both send a run.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import type { Logger } from '../logging/logger';
import { leaderKey, runKey } from './beat-keys';
import type { BeatCoordinator } from './coordinator';

const RENEW_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE_SCRIPT = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

export interface RedisCoordinatorOptions {
  /** Key prefix. */
  prefix: string;
  /** Lease time in milliseconds. */
  leaseMs: number;
  logger?: Logger;
}

export class RedisCoordinator implements BeatCoordinator {
  /** This beat's lease token: host, pid and a random part (shown by GET <prefix>beat:leader). */
  readonly token = `${hostname()}:${process.pid}:${randomUUID()}`;
  private readonly key: string;
  private leaseUntil = 0;
  private leader = false;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private onChange: (leader: boolean) => void = () => undefined;
  private cycle: Promise<void> = Promise.resolve();

  /** `client` is opened and closed by its owner (the Beat). */
  constructor(
    private readonly client: Redis,
    private readonly options: RedisCoordinatorOptions,
  ) {
    this.key = leaderKey(options.prefix);
  }

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    await this.step();
  }

  isLeader(): boolean {
    return this.leader && Date.now() < this.leaseUntil;
  }

  /** One attempt to take or renew the lease, then the next one scheduled. */
  private step(): Promise<void> {
    this.cycle = this.cycle.then(async () => {
      if (this.stopped) return;
      const lease = this.options.leaseMs;
      let retryIn = Math.max(10, Math.floor(lease / 3));
      const sentAt = Date.now();
      try {
        if (this.leader) {
          const renewed = (await this.client.eval(RENEW_SCRIPT, 1, this.key, this.token, String(lease))) === 1;
          if (renewed) this.leaseUntil = sentAt + lease;
          else this.setLeader(false, 'the lease was taken by another beat');
        }
        if (!this.leader) {
          const taken = (await this.client.set(this.key, this.token, 'PX', lease, 'NX')) === 'OK';
          if (taken) {
            this.leaseUntil = sentAt + lease;
            this.setLeader(true);
          } else {
            const pttl = await this.client.pttl(this.key);
            if (pttl >= 0) retryIn = Math.max(10, Math.min(retryIn, pttl + 5));
          }
        }
      } catch (err) {
        // Redis unreachable: a leader keeps sending until its lease runs out by its own clock.
        this.options.logger?.warn({ err }, 'Beat could not reach Redis for its lease');
        if (this.leader && Date.now() >= this.leaseUntil) this.setLeader(false, 'its lease ran out while Redis was unreachable');
        retryIn = Math.max(10, Math.min(retryIn, 1000));
      }
      if (this.leader) retryIn = Math.max(10, Math.min(retryIn, this.leaseUntil - Date.now() - 10));
      if (!this.stopped) this.timer = setTimeout(() => void this.step(), retryIn);
    });
    return this.cycle;
  }

  private setLeader(leader: boolean, why?: string): void {
    if (this.leader === leader) return;
    this.leader = leader;
    if (!leader) this.leaseUntil = 0;
    this.options.logger?.info({ token: this.token }, leader ? 'Beat is now the leader' : `Beat is no longer the leader: ${why ?? 'stopped'}`);
    this.onChange(leader);
  }

  async claim(entry: string, runAt: Date, ttlMs: number): Promise<boolean> {
    return (await this.client.set(runKey(this.options.prefix, entry, runAt), this.token, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX')) === 'OK';
  }

  async unclaim(entry: string, runAt: Date): Promise<void> {
    await this.client.eval(RELEASE_SCRIPT, 1, runKey(this.options.prefix, entry, runAt), this.token);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.cycle;
    const wasLeader = this.leader;
    this.setLeader(false, 'stopped');
    if (wasLeader) {
      try {
        await this.client.eval(RELEASE_SCRIPT, 1, this.key, this.token);
      } catch (err) {
        this.options.logger?.warn({ err }, 'Beat could not release its lease; it expires by itself');
      }
    }
  }
}
