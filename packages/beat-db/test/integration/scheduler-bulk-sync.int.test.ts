/**
 * The initial sync's multi-row write of next runs (TaskWrites.writeNextRuns) on SQLite, PostgreSQL
 * and MariaDB: 1,201 new rows (more than one batch, more than one statement) all get their exact
 * next run, to the millisecond; on PostgreSQL and MariaDB without a write per row; and a row edited
 * between the read and the write is left as the edit made it, as with the per-row conditional write.
 */
import { MemoryBroker, MemoryKeyValueStore } from '@celeriac/core';
import { PeriodicTaskEntity } from '../../src/entities';
import { TaskWrites } from '../../src/scheduler/task-writes';
import { DATABASE_KINDS, useTestDatabase } from '../helpers/test-database';
import { SchedulerHarness } from '../helpers/scheduler-harness';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe.each(DATABASE_KINDS)('next runs written in bulk on %s', (kind) => {
  const db = useTestDatabase(kind);
  let h: SchedulerHarness | undefined;
  afterEach(async () => {
    jest.restoreAllMocks();
    await h?.close();
    h = undefined;
  });

  it('gives 1,201 new rows their exact next run (one statement per batch where the database allows it)', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00.123Z');
    const first = await h.addTask('every-7s', { kind: 'interval', every: 7, period: 'seconds' });
    // The other rows by one INSERT … SELECT of the first (as a bulk import would), each its own name.
    const columns = db.dataSource.getRepository(PeriodicTaskEntity).metadata.columns.map((c) => c.databaseName).filter((c) => !['id', 'name', 'date_changed'].includes(c));
    const q = (name: string): string => (kind === 'mysql' ? `\`${name}\`` : `"${name}"`);
    const list = columns.map(q).join(', ');
    // 1,200 numbers (MariaDB stops a recursive CTE at 1,000 rows: 40 × 30 of a short one)
    const numbers =
      kind === 'postgres' ? 'SELECT generate_series(1, 1200) AS n' : 'WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < 40) SELECT a.n * 100 + b.n AS n FROM s AS a, s AS b WHERE b.n <= 30';
    const name = kind === 'mysql' ? "CONCAT('row-', n)" : "'row-' || n";
    await h.sql(`INSERT INTO $task (${q('name')}, ${list}) SELECT ${name}, ${list} FROM $task, (${numbers}) AS numbers WHERE ${q('id')} = ${first.id}`);
    const perRow = jest.spyOn(TaskWrites.prototype, 'write');
    const beat = await h.scheduler({ batchSize: 500 });
    await h.at('2026-01-01T10:00:00.123Z', beat);
    const rows = await db.dataSource.getRepository(PeriodicTaskEntity).find();
    expect(rows).toHaveLength(1201);
    expect(new Set(rows.map((r) => r.nextRunAt?.toISOString()))).toEqual(new Set(['2026-01-01T10:00:07.123Z']));
    expect(new Set(rows.map((r) => r.beatSeq))).toEqual(new Set([first.beatSeq + 1]));
    // SQLite writes row by row (see scheduleBatch); the others in one statement per batch.
    expect(perRow).toHaveBeenCalledTimes(kind === 'sqlite' ? 1201 : 0);
  });

  it('leaves a row edited after it was read as the edit made it', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('kept', { kind: 'interval', every: 10, period: 'seconds' });
    await h.addTask('edited', { kind: 'interval', every: 10, period: 'seconds' });
    const read = await db.dataSource.getRepository(PeriodicTaskEntity).find({ order: { id: 'ASC' } });
    // An admin edit between the scheduler's read and its write: the change trigger bumps version.
    await h.sql(`UPDATE $task SET description = 'changed' WHERE name = 'edited'`);
    const at = new Date('2026-01-01T10:00:10.000Z');
    await new TaskWrites(db.dataSource).writeNextRuns(read.map((row) => ({ row, nextRunAt: at })));
    const kept = await h.row('kept');
    const edited = await h.row('edited');
    expect(kept.nextRunAt?.toISOString()).toBe('2026-01-01T10:00:10.000Z');
    expect(kept.beatSeq).toBe(read[0]!.beatSeq + 1);
    expect(edited.nextRunAt).toBeNull();
    expect(edited.beatSeq).toBe(read[1]!.beatSeq);
    expect(edited.version).toBe(read[1]!.version + 1);
  });
});
