/**
 * The beat leader lease in the database (table celeriac_beat_lease, one row per lease name), for
 * running the database scheduler on every replica without Redis.
 *
 * - Take: `UPDATE … SET holder = me, expires_at = now + lease WHERE name = :name AND (holder = me OR
 *   expires_at < now)`; one affected row makes this beat the leader. The row is created once (insert
 *   or ignore) so taking it is always that one UPDATE.
 * - Renew: the same UPDATE `WHERE holder = me`. Stop deletes the row when this beat holds it.
 * - When to take, renew and give up (and that a late renewal ends leadership) is core's
 *   LeaseCoordinator's, shared with the Redis lease.
 *
 * `claim()` always answers true: the scheduler claims each run with a conditional UPDATE of its row
 * (see task-writes.ts), which is the per-run idempotency key here, safe even while two leaders
 * overlap. Hosts need roughly synchronized clocks (NTP): expiry times are compared across them.
 */
import { ConfigError, LeaseCoordinator, type Logger } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { BeatLeaseEntity } from '../entities/beat-lease.entity';

export interface DatabaseLeaseCoordinatorOptions {
  /** Lease time in seconds; another beat takes over within it after the leader dies. */
  leaseTime: number;
  /** The lease row's name: beats sharing a name elect one leader. @defaultValue 'default' */
  leaseName?: string;
  logger?: Logger;
}

function checkedLeaseMs(leaseTime: unknown): number {
  if (!(typeof leaseTime === 'number' && leaseTime > 0)) throw new ConfigError('beatLeaseTime', `leaseTime must be a number of seconds > 0, got ${JSON.stringify(leaseTime)}.`);
  return Math.round(leaseTime * 1000);
}

export class DatabaseLeaseCoordinator extends LeaseCoordinator {
  readonly leaseName: string;

  constructor(
    private readonly dataSource: DataSource,
    options: DatabaseLeaseCoordinatorOptions,
  ) {
    const leaseName = options.leaseName ?? 'default';
    if (!leaseName || leaseName.length > 200) throw new ConfigError('leaseName', 'leaseName must be a non-empty name of at most 200 characters.');
    super({ leaseMs: checkedLeaseMs(options.leaseTime), logger: options.logger, store: 'the database', label: 'beat-db: this beat', logFields: { lease: leaseName } });
    this.leaseName = leaseName;
  }

  async claim(): Promise<boolean> {
    return true; // the row's conditional UPDATE is the run's claim (see the header)
  }

  async unclaim(): Promise<void> {
    // nothing held: a failed send is reverted on the row itself
  }

  protected take(now: number): Promise<boolean> {
    return this.update(now, true);
  }

  protected renew(now: number): Promise<boolean> {
    return this.update(now, false);
  }

  protected async remainingMs(): Promise<number | null> {
    const row = await this.dataSource.getRepository(BeatLeaseEntity).findOneBy({ name: this.leaseName });
    return row ? row.expiresAt - Date.now() : null;
  }

  protected async release(): Promise<void> {
    await this.dataSource.createQueryBuilder().delete().from(BeatLeaseEntity).where('name = :name AND holder = :holder', { name: this.leaseName, holder: this.holder }).execute();
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
}
