/**
 * The database scheduler's policies on SQLite, PostgreSQL and MariaDB: runs missed while no beat was
 * up (catch-up window), skip-if-running, an invalid row written by raw SQL, a failed send, and run
 * history completed from the result backend after a worker ran the tasks.
 */
import { ConfigError, MemoryBroker, MemoryKeyValueStore, Worker } from '@celeriac/core';
import { DATABASE_KINDS, useTestDatabase } from '../helpers/test-database';
import { messages, SchedulerHarness } from '../helpers/scheduler-harness';
import { waitFor } from '../../../core/test/helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

const HOURLY = { kind: 'crontab', minute: '0', hour: '*', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'UTC' } as const;

describe.each(DATABASE_KINDS)('DatabaseScheduler policies on %s', (kind) => {
  const db = useTestDatabase(kind);
  let h: SchedulerHarness | undefined;
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await h?.close();
    h = undefined;
  });

  it('skips (and records) a run missed beyond the catch-up window while no beat was up, then keeps the schedule', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:30:00Z');
    await h.addTask('hourly', HOURLY);
    const first = await h.scheduler({ catchUpWindow: 600 });
    await h.at('2026-01-01T10:30:00Z', first);
    await first.close(); // beat down from 10:30 to 12:30: 11:00 and 12:00 are missed
    const second = await h.scheduler({ catchUpWindow: 600 });
    await h.at('2026-01-01T12:30:00Z', second);
    expect(h.sent).toHaveLength(0);
    expect(h.skipped).toEqual([{ entry: 'hourly', reason: 'missed', runAt: '2026-01-01T12:00:00.000Z' }]);
    expect(messages(h.log.warn).some((m) => m.includes('skipping missed run of hourly scheduled for 2026-01-01T12:00:00.000Z: 1800 s late'))).toBe(true);
    const runs = await h.runs('hourly');
    expect(runs.map((r) => [r.scheduledFor.toISOString(), r.state, r.taskId])).toEqual([['2026-01-01T12:00:00.000Z', 'SKIPPED_MISSED', null]]);
    const row = await h.row('hourly');
    expect(row).toMatchObject({ totalRunCount: 0, lastTaskId: null });
    expect(row.nextRunAt?.toISOString()).toBe('2026-01-01T13:00:00.000Z');
    await h.at('2026-01-01T13:00:00Z', second);
    expect(h.sentAt('hourly')).toEqual(['2026-01-01T13:00:00.000Z']);
  });

  it('sends a missed run once, the latest, when it is within the catch-up window', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:30:00Z');
    await h.addTask('hourly', HOURLY);
    const first = await h.scheduler({ catchUpWindow: 3600 });
    await h.at('2026-01-01T10:30:00Z', first);
    await first.close();
    const second = await h.scheduler({ catchUpWindow: 3600 });
    await h.at('2026-01-01T12:05:00Z', second);
    await h.at('2026-01-01T12:06:00Z', second);
    expect(h.sentAt('hourly')).toEqual(['2026-01-01T12:00:00.000Z']);
    expect(h.skipped).toEqual([]);
    expect(messages(h.log.info).some((m) => m.includes('hourly missed runs since 2026-01-01T11:00:00.000Z; sending one now'))).toBe(true);
    expect((await h.row('hourly')).nextRunAt?.toISOString()).toBe('2026-01-01T13:00:00.000Z');
  });

  it('skips a run while the previous one has not finished (skipIfRunning), and sends once it has', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('slow', { kind: 'interval', every: 10, period: 'seconds' }, { skipIfRunning: true });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:00:10Z', beat);
    await h.at('2026-01-01T10:00:20Z', beat); // nothing ran the first: still PENDING
    expect(h.sentAt('slow')).toEqual(['2026-01-01T10:00:10.000Z']);
    expect(h.skipped).toEqual([{ entry: 'slow', reason: 'running', runAt: '2026-01-01T10:00:20.000Z' }]);
    expect((await h.runs('slow')).map((r) => r.state)).toEqual(['SENT', 'SKIPPED_RUNNING']);

    h.app.task('tasks.slow', async () => 'done');
    worker = new Worker(h.app);
    await worker.start();
    await expect(h.app.asyncResult(h.sent[0]!.id).get({ timeout: 5000 })).resolves.toBe('done');
    await h.at('2026-01-01T10:00:30Z', beat);
    expect(h.sentAt('slow')).toEqual(['2026-01-01T10:00:10.000Z', '2026-01-01T10:00:30.000Z']);
  });

  it('reads a finished previous run from the run history once its result has expired from the backend', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    h.app.task('tasks.quick', async () => 'done');
    worker = new Worker(h.app);
    await worker.start();
    await h.addTask('quick', { kind: 'interval', every: 10, period: 'seconds' }, { skipIfRunning: true });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:00:10Z', beat);
    await expect(h.app.asyncResult(h.sent[0]!.id).get({ timeout: 5000 })).resolves.toBe('done');
    await beat.refreshHistory();
    expect((await h.runs('quick')).map((r) => r.state)).toEqual(['SUCCESS']);
    await h.app.backendOrNull()!.forget(h.sent[0]!.id); // the backend would now say PENDING
    await h.at('2026-01-01T10:00:20Z', beat);
    expect(h.skipped).toEqual([]);
    expect(h.sentAt('quick')).toEqual(['2026-01-01T10:00:10.000Z', '2026-01-01T10:00:20.000Z']);
  });

  it('disables a row whose crontab raw SQL made invalid, logging an error naming it, while other rows still run', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('good', { kind: 'interval', every: 10, period: 'seconds' });
    const bad = await h.addTask('bad', HOURLY);
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.sql(`UPDATE $crontab SET minute = '99' WHERE id = ${bad.crontabId}`);
    await h.at('2026-01-01T10:00:10Z', beat);
    await h.at('2026-01-01T10:00:20Z', beat);
    expect(h.sentAt('good')).toEqual(['2026-01-01T10:00:10.000Z', '2026-01-01T10:00:20.000Z']);
    expect(await h.row('bad')).toMatchObject({ enabled: false, nextRunAt: null });
    expect(messages(h.log.error)).toEqual([expect.stringContaining(`periodic task "bad" (id ${bad.id}) has an invalid schedule and is disabled: Invalid crontab`)]);
    expect(h.errors).toEqual([expect.any(ConfigError)]);
    expect((h.errors[0] as Error).message).toContain('"bad"');
  });

  it('gives the claim back when the send fails, and sends the same run at the next tick', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('flaky', { kind: 'interval', every: 10, period: 'seconds' });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    jest.mocked(h.app.sendTask).mockRejectedValueOnce(new Error('broker down'));
    expect(await h.at('2026-01-01T10:00:10Z', beat)).toBe(1000);
    expect(h.sent).toHaveLength(0);
    expect(h.errors).toEqual([expect.objectContaining({ message: 'broker down' })]);
    const reverted = await h.row('flaky');
    expect(reverted).toMatchObject({ totalRunCount: 0, lastRunAt: null, lastTaskId: null });
    expect(reverted.nextRunAt?.toISOString()).toBe('2026-01-01T10:00:10.000Z');
    expect((await h.runs('flaky')).map((r) => [r.state, r.detail])).toEqual([['SEND_FAILED', 'broker down']]);

    await h.at('2026-01-01T10:00:11Z', beat);
    expect(h.sentAt('flaky')).toEqual(['2026-01-01T10:00:10.000Z']);
    expect((await h.runs('flaky')).map((r) => [r.state, r.taskId])).toEqual([['SENT', h.sent[0]!.id]]);
    expect(await h.row('flaky')).toMatchObject({ totalRunCount: 1, lastTaskId: h.sent[0]!.id });
  });

  it('records each run\'s final state from the result backend once a worker ran it', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    h.app.task('tasks.ok', async () => 42);
    h.app.task('tasks.boom', async () => {
      throw new Error('boom');
    });
    await h.addTask('ok', { kind: 'interval', every: 10, period: 'seconds' });
    await h.addTask('boom', { kind: 'interval', every: 10, period: 'seconds' });
    const beat = await h.scheduler({ historyRefreshInterval: 5 });
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:00:10Z', beat);
    expect(h.sent).toHaveLength(2);
    worker = new Worker(h.app); // started after the sends, so the 10:00:10 refresh saw them pending
    await worker.start();
    for (const { id } of h.sent) await waitFor(async () => ['SUCCESS', 'FAILURE'].includes(await h!.app.asyncResult(id).state()), 5000, `task ${id} to finish`);
    await h.at('2026-01-01T10:00:14Z', beat); // 4 s after the last refresh: not yet
    expect((await h.runs('ok'))[0]?.state).toBe('SENT');
    await h.at('2026-01-01T10:00:15Z', beat);
    const [ok] = await h.runs('ok');
    const [boom] = await h.runs('boom');
    expect(ok).toMatchObject({ state: 'SUCCESS', taskId: h.sent.find((s) => s.entry === 'ok')!.id });
    expect(boom).toMatchObject({ state: 'FAILURE' });
    expect(ok!.finishedAt).toBeInstanceOf(Date);
    expect(Math.abs(ok!.finishedAt!.getTime() - Date.now())).toBeLessThan(60_000); // the backend's date_done
  });
});
