/**
 * The shipped migrations on SQLite, PostgreSQL and MariaDB: tables and triggers exist, the change
 * triggers bump version / clear next_run_at on admin and raw-SQL edits (and not on the scheduler's own
 * columns), schedule-table edits reach their tasks, and down() removes everything.
 */
import { IntervalScheduleEntity, PeriodicTaskEntity, TABLES } from '../../src/entities';
import { createTestDatabase, DATABASE_KINDS, type TestDatabase } from '../helpers/test-database';

describe.each(DATABASE_KINDS)('beat-db migrations on %s', (kind) => {
  let db: TestDatabase;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await db?.drop();
  });

  // A UTC literal every dialect reads (PostgreSQL's timestamptz reads it in the session zone, UTC here).
  const rawTime = (iso: string) => (kind === 'postgres' ? `'${iso}'` : `'${iso.replace('T', ' ').replace('Z', '')}'`);

  let intervals = 0;
  async function newTask(name: string) {
    // Interval rows are unique by (every, period), so each task gets its own.
    const interval = await db.dataSource.getRepository(IntervalScheduleEntity).save({ every: 10 + intervals++, period: 'seconds' as const });
    const repo = db.dataSource.getRepository(PeriodicTaskEntity);
    const saved = await repo.save(repo.create({ name, task: 'reports.nightly', intervalId: interval.id, args: [1], kwargs: { a: 1 }, headers: {}, description: '' }));
    return { repo, interval, id: saved.id };
  }

  it('creates a row with defaults the database fills in', async () => {
    const { repo, id } = await newTask('defaults');
    const row = await repo.findOneByOrFail({ id });
    expect(row).toMatchObject({ version: 1, enabled: true, oneOff: false, totalRunCount: 0, beatSeq: 0, nextRunAt: null, source: 'admin', args: [1], kwargs: { a: 1 } });
    expect(row.createdAt).toBeInstanceOf(Date);
    expect(Math.abs(row.dateChanged.getTime() - Date.now())).toBeLessThan(60_000);
  });

  it("leaves version alone when only the scheduler's columns change", async () => {
    const { repo, id } = await newTask('scheduler-write');
    await db.dataSource.query(`UPDATE ${TABLES.periodicTask} SET next_run_at = ${rawTime('2030-01-01T00:00:00.000Z')}, beat_seq = beat_seq + 1, total_run_count = 3 WHERE id = ${id}`);
    const row = await repo.findOneByOrFail({ id });
    expect(row).toMatchObject({ version: 1, beatSeq: 1, totalRunCount: 3 });
    expect(row.nextRunAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('bumps version on an edit of arguments, keeping next_run_at', async () => {
    const { repo, id } = await newTask('args-edit');
    await db.dataSource.query(`UPDATE ${TABLES.periodicTask} SET next_run_at = ${rawTime('2030-01-01T00:00:00.000Z')} WHERE id = ${id}`);
    await repo.update(id, { args: [2] });
    const row = await repo.findOneByOrFail({ id });
    expect(row.version).toBe(2);
    expect(row.args).toEqual([2]);
    expect(row.nextRunAt?.toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('clears next_run_at and bumps version when raw SQL disables a task', async () => {
    const { repo, id } = await newTask('raw-disable');
    await db.dataSource.query(`UPDATE ${TABLES.periodicTask} SET next_run_at = ${rawTime('2030-01-01T00:00:00.000Z')} WHERE id = ${id}`);
    await db.dataSource.query(`UPDATE ${TABLES.periodicTask} SET enabled = ${kind === 'postgres' ? 'false' : '0'} WHERE id = ${id}`);
    const row = await repo.findOneByOrFail({ id });
    expect(row).toMatchObject({ enabled: false, version: 2, nextRunAt: null });
  });

  it('an edit of the shared schedule row reaches every task on it', async () => {
    const { repo, interval, id } = await newTask('schedule-edit-a');
    const other = await repo.save(repo.create({ name: 'schedule-edit-b', task: 't', intervalId: interval.id, args: [], kwargs: {}, headers: {}, description: '' }));
    await db.dataSource.query(`UPDATE ${TABLES.periodicTask} SET next_run_at = ${rawTime('2030-01-01T00:00:00.000Z')} WHERE id IN (${id}, ${other.id})`);
    await db.dataSource.getRepository(IntervalScheduleEntity).update(interval.id, { every: 30 });
    for (const taskId of [id, other.id]) expect(await repo.findOneByOrFail({ id: taskId })).toMatchObject({ version: 2, nextRunAt: null });
  });

  it('refuses a task with no schedule', async () => {
    if (kind === 'mysql') return expect(kind).toBe('mysql'); // MySQL cannot CHECK cascaded columns; the admin API validates (see mysql.ts)
    const repo = db.dataSource.getRepository(PeriodicTaskEntity);
    await expect(repo.save(repo.create({ name: 'no-schedule', task: 't', args: [], kwargs: {}, headers: {}, description: '' }))).rejects.toThrow(/ck_celeriac_beat_one_schedule|CHECK constraint/i);
  });

  it('down() drops every table', async () => {
    await db.dataSource.undoLastMigration({ transaction: 'each' });
    const tables = await db.dataSource.createQueryRunner().getTables(Object.values(TABLES).filter((t) => t !== TABLES.migrations));
    expect(tables.map((t) => t.name)).toEqual([]);
  });
});
