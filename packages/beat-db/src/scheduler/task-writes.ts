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
 *
 * writeNextRuns() is the same conditional write for many rows in one statement (PostgreSQL:
 * `UPDATE … FROM (VALUES …)`; MySQL/MariaDB: `UPDATE … JOIN (SELECT … UNION ALL …)`): the initial
 * sync of a large table is one round trip per batch instead of one per row.
 */
import { EntityManager, type DataSource, type QueryDeepPartialEntity, type SelectQueryBuilder } from 'typeorm';
import { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { TABLES } from '../entities/table-names';
import { SCHEDULE_RELATIONS } from '../schedules/schedule-input';

/** The row fields a conditional write is checked against. */
export type RowStamp = Pick<PeriodicTaskEntity, 'id' | 'version' | 'beatSeq'>;

/** Rows per multi-row UPDATE: 4 parameters each, far below PostgreSQL's 65,535 and MySQL's limits. */
const ROWS_PER_STATEMENT = 1000;

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

  /**
   * Sets next_run_at of many rows, each only if unchanged since read (as write()); rows changed
   * meanwhile are left as they are (an edit leaves next_run_at NULL: the next tick computes it again).
   * PostgreSQL and MySQL/MariaDB only; elsewhere one write() per row.
   */
  async writeNextRuns(items: ReadonlyArray<{ row: RowStamp; nextRunAt: Date }>): Promise<void> {
    const type = (this.source instanceof EntityManager ? this.source.dataSource : this.source).options.type;
    const postgres = type === 'postgres';
    if (!postgres && type !== 'mysql' && type !== 'mariadb') {
      for (const { row, nextRunAt } of items) await this.write(row, { nextRunAt });
      return;
    }
    for (let start = 0; start < items.length; start += ROWS_PER_STATEMENT) {
      const chunk = items.slice(start, start + ROWS_PER_STATEMENT);
      const params: unknown[] = [];
      for (const { row, nextRunAt } of chunk) params.push(row.id, row.version, row.beatSeq, nextRunAt);
      await this.source.query(postgres ? postgresNextRuns(chunk.length) : mysqlNextRuns(chunk.length), params);
    }
  }
}

function postgresNextRuns(rows: number): string {
  const values = Array.from({ length: rows }, (_, i) => `($${4 * i + 1}::int, $${4 * i + 2}::int, $${4 * i + 3}::int, $${4 * i + 4}::timestamptz)`).join(', ');
  return (
    `UPDATE ${TABLES.periodicTask} AS t SET next_run_at = v.next_run_at, beat_seq = t.beat_seq + 1 ` +
    `FROM (VALUES ${values}) AS v(id, version, beat_seq, next_run_at) ` +
    'WHERE t.id = v.id AND t.version = v.version AND t.beat_seq = v.beat_seq'
  );
}

function mysqlNextRuns(rows: number): string {
  const selects = Array.from({ length: rows }, (_, i) => (i === 0 ? 'SELECT ? AS id, ? AS version, ? AS beat_seq, ? AS next_run_at' : 'SELECT ?, ?, ?, ?')).join(' UNION ALL ');
  return (
    `UPDATE ${TABLES.periodicTask} AS t JOIN (${selects}) AS v ON t.id = v.id AND t.version = v.version AND t.beat_seq = v.beat_seq ` +
    'SET t.next_run_at = v.next_run_at, t.beat_seq = t.beat_seq + 1'
  );
}
