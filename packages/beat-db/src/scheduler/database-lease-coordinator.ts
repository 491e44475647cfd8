/**
 * The beat leader lease in the database (table celeriac_beat_lease, one row per lease name), for
 * running the database scheduler on every replica without Redis.
 *
 * - Take: `UPDATE … SET holder = me, expires_at = now + lease WHERE name = :name AND (holder = me OR
 *   expires_at < now)`; one affected row makes this beat the leader. The row is created once (insert
 *   or ignore) so taking it is always that one UPDATE.
 * - Renew every third of the lease (`WHERE holder = me`). A beat counts itself leader until its last
 *   successful renewal + lease by its own clock, so it stops sending before another beat can take
 *   over. A renewal that fails (the lease was taken, or the database is unreachable past the lease)
 *   or comes too late (the process was paused) ends its leadership.
 * - Stop deletes the row when this beat holds it, so another takes over at its next attempt.
 *
 * `claim()` always answers true: the scheduler claims each run with a conditional UPDATE of its row
 * (see task-writes.ts), which is the per-run idempotency key here, safe even while two leaders
 * overlap. Hosts need roughly synchronized clocks (NTP): expiry times are compared across them.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { ConfigError, type BeatCoordinator, type Logger } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { BeatLeaseEntity } from '../entities/beat-lease.entity';

export interface DatabaseLeaseCoordinatorOptions {
  /** Lease time in seconds; another beat takes over within it after the leader dies. */
  leaseTime: number;
  /** The lease row's name: beats sharing a name elect one leader. @defaultValue 'default' */
  leaseName?: string;
  logger?: Logger;
}

export class DatabaseLeaseCoordinator implements BeatCoordinator {
  /** This beat's name in the lease row: host, pid and a random part. */
  readonly holder = `${hostname()}:${process.pid}:${randomUUID()}`;
  readonly leaseName: string;
  private readonly leaseMs: number;
  private leaseUntil = 0;
  private leader = false;
  private stopped = true;
  private timer: NodeJS.Timeout | undefined;
  private cycle: Promise<void> = Promise.resolve();
  private onChange: (leader: boolean) => void = () => undefined;

  constructor(
    private readonly dataSource: DataSource,
    private readonly options: DatabaseLeaseCoordinatorOptions,
  ) {
    if (!(typeof options.leaseTime === 'number' && options.leaseTime > 0)) throw new ConfigError('beatLeaseTime', `leaseTime must be a number of seconds > 0, got ${JSON.stringify(options.leaseTime)}.`);
    this.leaseMs = Math.round(options.leaseTime * 1000);
    this.leaseName = options.leaseName ?? 'default';
    if (!this.leaseName || this.leaseName.length > 200) throw new ConfigError('leaseName', 'leaseName must be a non-empty name of at most 200 characters.');
  }

  async start(onChange: (leader: boolean) => void): Promise<void> {
    this.onChange = onChange;
    this.stopped = false;
    await this.step();
  }

  isLeader(): boolean {
    return this.leader && Date.now() < this.leaseUntil;
  }

  async claim(): Promise<boolean> {
    return true; // the row's conditional UPDATE is the run's claim (see the header)
  }

  async unclaim(): Promise<void> {
    // nothing held: a failed send is reverted on the row itself
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.cycle;
    const wasLeader = this.leader;
    this.setLeader(false, 'stopped');
    if (!wasLeader) return;
    try {
      await this.dataSource.createQueryBuilder().delete().from(BeatLeaseEntity).where('name = :name AND holder = :holder', { name: this.leaseName, holder: this.holder }).execute();
    } catch (err) {
      this.options.logger?.warn({ err, lease: this.leaseName }, 'beat-db: could not release the beat lease; it expires by itself');
    }
  }

  /** One attempt to take or renew the lease, then the next one scheduled. */
  private step(): Promise<void> {
    this.cycle = this.cycle.then(async () => {
      if (this.stopped) return;
      let retryIn = Math.max(10, Math.floor(this.leaseMs / 3));
      try {
        if (this.leader && Date.now() >= this.leaseUntil) this.setLeader(false, 'its renewal came after the lease ran out');
        if (this.leader) {
          const sentAt = Date.now();
          if (await this.update(sentAt, false)) this.leaseUntil = sentAt + this.leaseMs;
          else this.setLeader(false, 'the lease was taken by another beat');
        }
        if (!this.leader) {
          const sentAt = Date.now();
          if (await this.update(sentAt, true)) {
            this.leaseUntil = sentAt + this.leaseMs;
            this.setLeader(true);
          } else {
            const row = await this.dataSource.getRepository(BeatLeaseEntity).findOneBy({ name: this.leaseName });
            if (row) retryIn = Math.max(10, Math.min(retryIn, row.expiresAt - Date.now() + 5));
          }
        }
      } catch (err) {
        // Database unreachable: a leader keeps sending until its lease runs out by its own clock.
        this.options.logger?.warn({ err, lease: this.leaseName }, 'beat-db: could not reach the database for the beat lease');
        if (this.leader && Date.now() >= this.leaseUntil) this.setLeader(false, 'its lease ran out while the database was unreachable');
        retryIn = Math.max(10, Math.min(retryIn, 1000));
      }
      if (this.leader) retryIn = Math.max(10, Math.min(retryIn, this.leaseUntil - Date.now() - 10));
      if (!this.stopped) this.timer = setTimeout(() => void this.step(), retryIn);
    });
    return this.cycle;
  }

  /** Renews (`take` false) or takes the lease; true when this beat holds it now. */
  private async update(now: number, take: boolean): Promise<boolean> {
    const set = { holder: this.holder, expiresAt: now + this.leaseMs };
    const params = { name: this.leaseName, holder: this.holder, now };
    const where = take ? 'name = :name AND (holder = :holder OR expires_at < :now)' : 'name = :name AND holder = :holder';
    const run = () => this.dataSource.createQueryBuilder().update(BeatLeaseEntity).set(set).where(where, params).execute();
    let result = await run();
    if (take && result.affected === 0) {
      // First use of this lease name (or its holder deleted it on stop): create the row, expired.
      await this.dataSource.createQueryBuilder().insert().into(BeatLeaseEntity).values({ name: this.leaseName, holder: '', expiresAt: 0 }).orIgnore().execute();
      result = await run();
    }
    return result.affected === 1;
  }

  private setLeader(leader: boolean, why?: string): void {
    if (this.leader === leader) return;
    this.leader = leader;
    if (!leader) this.leaseUntil = 0;
    this.options.logger?.info({ holder: this.holder, lease: this.leaseName }, leader ? 'beat-db: this beat is now the leader' : `beat-db: this beat is no longer the leader: ${why ?? 'stopped'}`);
    this.onChange(leader);
  }
}
