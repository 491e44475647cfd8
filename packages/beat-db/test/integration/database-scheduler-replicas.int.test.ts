/**
 * Several database schedulers on one database (SQLite, PostgreSQL, MariaDB): two beats that both
 * believe they lead, ticking at once over many due rows, send every run exactly once; and the real
 * loop picks up a new row and a raw-SQL edit within seconds, without a restart.
 */
import { LocalCoordinator, MemoryBroker, MemoryKeyValueStore } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { createBeatDataSource } from '../../src/data-source';
import { PeriodicTaskEntity, PeriodicTaskRunEntity } from '../../src/entities';
import { DatabaseScheduler } from '../../src/scheduler';
import { createTestDatabase, DATABASE_KINDS, emptyTables, type TestDatabase } from '../helpers/test-database';
import { SchedulerHarness } from '../helpers/scheduler-harness';
import { waitFor } from '../../../core/test/helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

const ROWS = 60;

describe.each(DATABASE_KINDS)('DatabaseScheduler replicas on %s', (kind) => {
  let db: TestDatabase;
  let other: DataSource;
  let h: SchedulerHarness | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(kind);
    other = createBeatDataSource({ url: db.url });
    await other.initialize();
  });
  afterAll(async () => {
    if (other?.isInitialized) await other.destroy();
    await db?.drop();
  });
  beforeEach(() => emptyTables(db));
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('sends each due run exactly once when two beats tick concurrently over many rows', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    for (let i = 0; i < ROWS; i++) await h.addTask(`row-${String(i).padStart(3, '0')}`, { kind: 'interval', every: 10, period: 'seconds' });
    // Both lead (a lease overlap at its worst): only the row claims keep runs single.
    const a = await h.scheduler({ coordinator: new LocalCoordinator(), batchSize: 7 });
    const b = await h.scheduler({ coordinator: new LocalCoordinator(), batchSize: 7, dataSource: other });
    const both = async (iso: string) => {
      h!.t = Date.parse(iso);
      for (let i = 0; i < 100; i++) {
        const delays = await Promise.all([a.tick(), b.tick()]);
        if (delays.every((d) => d > 0)) return;
      }
      throw new Error('the schedulers never settled');
    };
    await both('2026-01-01T10:00:00Z');
    await both('2026-01-01T10:00:10Z');
    await both('2026-01-01T10:00:20Z');

    const keys = h.sent.map((s) => `${s.entry}@${s.runAt}`);
    expect(keys).toHaveLength(2 * ROWS);
    expect(new Set(keys).size).toBe(2 * ROWS);
    expect(new Set(h.calls.map((c) => c.options.taskId)).size).toBe(2 * ROWS);
    expect(await h.queued()).toBe(2 * ROWS);
    expect(await db.dataSource.getRepository(PeriodicTaskRunEntity).count({ where: { state: 'SENT' } })).toBe(2 * ROWS);
    const rows = await db.dataSource.getRepository(PeriodicTaskEntity).find();
    expect(rows.map((r) => r.totalRunCount)).toEqual(Array(ROWS).fill(2));
    expect(rows.every((r) => r.nextRunAt?.toISOString() === '2026-01-01T10:00:30.000Z')).toBe(true);
  });

  it('with its own loop, picks up a new row and a raw SQL edit within seconds, without a restart', async () => {
    h = new SchedulerHarness(db, new Date().toISOString());
    const beat = new DatabaseScheduler(h.app, { dataSource: db.dataSource, pollInterval: 0.2, leaseTime: 2, logger: h.log.logger });
    const sent: Array<{ entry: string; at: number }> = [];
    beat.on('sent', (s) => sent.push({ entry: s.entry, at: Date.now() }));
    await beat.start();
    try {
      await waitFor(() => beat.isLeader, 3000, 'leadership');
      const added = Date.now();
      await h.addTask('live', { kind: 'interval', every: 1, period: 'seconds' }, { args: ['v1'] });
      await waitFor(() => sent.length > 0, 5000, 'the new row to be sent');
      expect(sent[0]!.at - added).toBeLessThan(5000);

      await h.sql(`UPDATE $task SET args = '["v2"]' WHERE name = 'live'`);
      const edited = Date.now();
      await waitFor(() => h!.calls.some((c) => c.args[0] === 'v2'), 5000, 'a run with the edited args');
      expect(Date.now() - edited).toBeLessThan(5000);
    } finally {
      await beat.close();
    }
    expect(beat.isLeader).toBe(false);
  });
});
