/**
 * The scheduler's reads and writes of periodic-task rows. Reads go through the (enabled, next_run_at)
 * index in LIMIT batches, never the whole table. Every write is one conditional UPDATE by primary key:
 *
 * ```text
 * UPDATE celeriac_beat_periodic_task SET <scheduler columns>, beat_seq = beat_seq + 1
 *  WHERE id = :id AND version = :version AND beat_seq = :beatSeq
 * ```
 * One affected row means the write is this beat's: neither an admin edit (version) nor another beat
 * (beat_seq) came in between. A claim is such a write, so (row, scheduled time) is the per-run
 * idempotency key: two beats racing for a run cannot both win it.
 *
 * Dates are passed as entity values (`.set({ nextRunAt })`) so TypeORM converts them per driver.
 */
import type { DataSource, EntityManager, QueryDeepPartialEntity, SelectQueryBuilder } from 'typeorm';
import { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { SCHEDULE_RELATIONS } from '../schedules/schedule-input';

/** The row fields a conditional write is checked against. */
export type RowStamp = Pick<PeriodicTaskEntity, 'id' | 'version' | 'beatSeq'>;

type SchedulerSet = Partial<Pick<PeriodicTaskEntity, 'nextRunAt' | 'lastRunAt' | 'lastTaskId'>> & { countRun?: 1 | -1; disable?: boolean };

/**
 * A scheduler write that disables a row also moves `code_version` along with the `version` the
 * change trigger bumps, so a code default stays owned by code (only admin edits make it the admin's).
 */
const KEEP_CODE_OWNERSHIP = 'CASE WHEN code_version = version THEN version + 1 ELSE code_version END';

export class TaskWrites {
  constructor(private readonly source: DataSource | EntityManager) {}

  /** The same writes inside a transaction. */
  in(manager: EntityManager): TaskWrites {
    return new TaskWrites(manager);
  }

  private select(): SelectQueryBuilder<PeriodicTaskEntity> {
    let qb = this.source.getRepository(PeriodicTaskEntity).createQueryBuilder('t');
    for (const relation of SCHEDULE_RELATIONS) qb = qb.leftJoinAndSelect(`t.${relation}`, relation);
    return qb;
  }

  /** Enabled rows whose next run is to be computed (new, or changed by an admin, SQL or a trigger), by id. */
  unscheduled(afterId: number, limit: number): Promise<PeriodicTaskEntity[]> {
    return this.select().where('t.enabled = :enabled AND t.next_run_at IS NULL AND t.id > :afterId', { enabled: true, afterId }).orderBy('t.id', 'ASC').limit(limit).getMany();
  }

  /** Enabled rows due at `now`, earliest first. */
  due(now: Date, limit: number): Promise<PeriodicTaskEntity[]> {
    return this.select().where('t.enabled = :enabled AND t.next_run_at <= :now', { enabled: true, now }).orderBy('t.next_run_at', 'ASC').addOrderBy('t.id', 'ASC').limit(limit).getMany();
  }

  /** The earliest next run of any enabled row, or null. */
  async earliest(): Promise<Date | null> {
    const row = await this.source
      .getRepository(PeriodicTaskEntity)
      .createQueryBuilder('t')
      .select(['t.id', 't.nextRunAt'])
      .where('t.enabled = :enabled AND t.next_run_at IS NOT NULL', { enabled: true })
      .orderBy('t.next_run_at', 'ASC')
      .limit(1)
      .getOne();
    return row?.nextRunAt ?? null;
  }

  /** One conditional write (see the header); true when it applied. */
  async write(row: RowStamp, set: SchedulerSet): Promise<boolean> {
    const { countRun, disable, ...columns } = set;
    const values: QueryDeepPartialEntity<PeriodicTaskEntity> = { ...columns, beatSeq: () => 'beat_seq + 1' };
    if (countRun) values.totalRunCount = () => `total_run_count ${countRun > 0 ? '+' : '-'} 1`;
    if (disable) {
      values.enabled = false;
      values.codeVersion = () => KEEP_CODE_OWNERSHIP;
    }
    const result = await this.source
      .createQueryBuilder()
      .update(PeriodicTaskEntity)
      .set(values)
      .where('id = :id AND version = :version AND beat_seq = :beatSeq', { id: row.id, version: row.version, beatSeq: row.beatSeq })
      .execute();
    return result.affected === 1;
  }
}
