/**
 * The leader lease loop shared by every lease-based BeatCoordinator (RedisCoordinator here,
 * beat-db's DatabaseLeaseCoordinator): where the lease lives is the subclass's part, when to take,
 * renew, give up and retry is this one's.
 *
 * - A follower tries to take the lease every third of the lease time, or sooner when the holder's
 *   lease runs out before that: a dead leader is replaced within the lease time.
 * - The leader renews every third of the lease. It counts itself leader until its last successful
 *   renewal + lease, by its own clock, so it stops sending before the lease can run out where it is
 *   kept. A renewal that comes after that (the process was paused) or fails ends its leadership.
 * - While the store is unreachable, a leader keeps sending until its lease runs out by its own clock,
 *   and every attempt is retried within a second.
 * - Stop releases the lease when this beat holds it, so another takes over at its next attempt.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from '../logging/logger';
import type { BeatCoordinator } from './coordinator';

export interface LeaseCoordinatorOptions {
  /** Lease time in milliseconds. */
  leaseMs: number;
  logger?: Logger;
  /** Where the lease is kept, for log lines ('Redis', 'the database'). */
  store: string;
  /** Who speaks in log lines ('Beat', 'beat-db: this beat'). */
  label: string;
  /** Fields added to every log line (the holder is always there). */
  logFields?: Record<string, unknown>;
}

export abstract class LeaseCoordinator implements BeatCoordinator {
  /** This beat's name as the lease holder: host, pid and a random part. */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  protected readonly leaseMs: number;
  private leaseUntil = 0;
  private leader = false;
  private stopped = true;
  /** The last attempt could not reach the store (says why a lease ran out). */
  private storeFailing = false;
  private timer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> = Promise.resolve();
  private onChange: (leader: boolean) => void = () => undefined;

  constructor(private readonly leaseOptions: LeaseCoordinatorOptions) {
    this.leaseMs = leaseOptions.leaseMs;
  }

  /** Takes the lease for `leaseMs` from `now` when it is free or expired; true when this beat holds it. */
  protected abstract take(now: number): Promise<boolean>;
  /** Extends the lease this beat holds to `now + leaseMs`; false when another holds it. */
  protected abstract renew(now: number): Promise<boolean>;
  /** Milliseconds until the current holder's lease runs out; null when unknown or nobody holds it. */
  protected abstract remainingMs(): Promise<number | null>;
  /** Gives the lease up, only if this beat still holds it. */
  protected abstract release(): Promise<void>;

  abstract claim(entry: string, runAt: Date, ttlMs: number): Promise<boolean>;
  abstract unclaim(entry: string, runAt: Date): Promise<void>;

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    await this.step();
  }

  isLeader(): boolean {
    return this.leader && Date.now() < this.leaseUntil;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.cycle;
    const wasLeader = this.leader;
    this.setLeader(false, 'stopped');
    if (!wasLeader) return;
    try {
      await this.release();
    } catch (err) {
      this.leaseOptions.logger?.warn({ err, ...this.fields() }, `${this.leaseOptions.label} could not release its lease; it expires by itself`);
    }
  }

  /** One attempt to take or renew the lease, then the next one scheduled. */
  private step(): Promise<void> {
    this.cycle = this.cycle.then(async () => {
      if (this.stopped) return;
      let retryIn = Math.max(10, Math.floor(this.leaseMs / 3));
      try {
        if (this.leader && Date.now() >= this.leaseUntil) {
          this.setLeader(false, this.storeFailing ? `its lease ran out while ${this.leaseOptions.store} was unreachable` : 'its renewal came after the lease ran out');
        }
        if (this.leader) {
          const sentAt = Date.now();
          if (await this.renew(sentAt)) this.leaseUntil = sentAt + this.leaseMs;
          else this.setLeader(false, 'the lease was taken by another beat');
        }
        if (!this.leader) {
          const sentAt = Date.now();
          if (await this.take(sentAt)) {
            this.leaseUntil = sentAt + this.leaseMs;
            this.setLeader(true);
          } else {
            const remaining = await this.remainingMs();
            // run out already (between the take and this read): try again at once
            if (remaining !== null) retryIn = Math.max(10, Math.min(retryIn, Math.max(0, remaining) + 5));
          }
        }
        this.storeFailing = false;
      } catch (err) {
        this.storeFailing = true;
        this.leaseOptions.logger?.warn({ err, ...this.fields() }, `${this.leaseOptions.label} could not reach ${this.leaseOptions.store} for its lease`);
        if (this.leader && Date.now() >= this.leaseUntil) this.setLeader(false, `its lease ran out while ${this.leaseOptions.store} was unreachable`);
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
    this.leaseOptions.logger?.info(this.fields(), leader ? `${this.leaseOptions.label} is now the leader` : `${this.leaseOptions.label} is no longer the leader: ${why ?? 'stopped'}`);
    try {
      this.onChange(leader);
    } catch (err) {
      // a throwing listener must not stop the lease loop (its cycle would stay rejected)
      this.leaseOptions.logger?.error({ err, ...this.fields() }, `${this.leaseOptions.label}: a leadership listener threw`);
    }
  }

  private fields(): Record<string, unknown> {
    return { holder: this.holder, ...this.leaseOptions.logFields };
  }
}
