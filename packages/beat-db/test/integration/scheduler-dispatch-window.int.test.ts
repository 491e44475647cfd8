/**
 * Due rows are dispatched a few at a time on PostgreSQL and MariaDB (each run is three round trips,
 * and rows are independent), one at a time on SQLite: with 20 rows due at once and a send that
 * takes a while, at most 6 sends are in flight (1 on SQLite) and every run is sent exactly once, in
 * due order on SQLite. (With several at once, runs of one batch may go out in a slightly different
 * order than they fell due: each goes as soon as its own claim is written.)
 */
import { MemoryBroker, MemoryKeyValueStore } from '@celeriac/core';
import { DATABASE_KINDS, useTestDatabase } from '../helpers/test-database';
import { SchedulerHarness } from '../helpers/scheduler-harness';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe.each(DATABASE_KINDS)('dispatch window on %s', (kind) => {
  const db = useTestDatabase(kind);
  let h: SchedulerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it(`sends 20 runs due at once, ${kind === 'sqlite' ? 'one at a time' : 'up to 6 at once'}, each once`, async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    // All due together at 10:05; due order is (next run, id): the order they were added.
    for (let i = 0; i < 20; i++) await h.addTask(`r${String(i).padStart(2, '0')}`, { kind: 'interval', every: 300, period: 'seconds' });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    const spy = jest.spyOn(h.app, 'sendTask');
    const recording = spy.getMockImplementation()!;
    let inFlight = 0;
    let most = 0;
    const started: string[] = [];
    spy.mockImplementation(async (...args) => {
      started.push(args[0]);
      most = Math.max(most, ++inFlight);
      await new Promise((resolve) => setTimeout(resolve, 30));
      try {
        return await recording(...args);
      } finally {
        inFlight--;
      }
    });
    await h.at('2026-01-01T10:05:00Z', beat);
    const names = Array.from({ length: 20 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    expect(most).toBe(kind === 'sqlite' ? 1 : 6);
    if (kind === 'sqlite') expect(started).toEqual(names.map((n) => `tasks.${n}`));
    else expect([...started].sort()).toEqual(names.map((n) => `tasks.${n}`));
    expect(h.sent.map((s) => s.entry).sort()).toEqual(names);
    expect(await h.queued()).toBe(20);
  });
});
