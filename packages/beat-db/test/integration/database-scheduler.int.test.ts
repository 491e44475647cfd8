/**
 * The database scheduler on SQLite, PostgreSQL and MariaDB with a fake clock: interval, crontab and
 * clocked rows sent at their times with counters and run history; start time and expiry; changes
 * made by raw SQL (enable, disable, a crontab edit) picked up at the next tick without a restart.
 */
import { MemoryBroker, MemoryKeyValueStore } from '@celeriac/core';
import { DATABASE_KINDS, useTestDatabase } from '../helpers/test-database';
import { messages, SchedulerHarness } from '../helpers/scheduler-harness';
import { waitFor } from '../../../core/test/helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe.each(DATABASE_KINDS)('DatabaseScheduler on %s', (kind) => {
  const db = useTestDatabase(kind);
  let h: SchedulerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('sends an interval row each time it is due, with its arguments and routing, counting runs and keeping history', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('refresh', { kind: 'interval', every: 10, period: 'seconds' }, { task: 'cache.refresh', args: ['all'], kwargs: { deep: true }, priority: 3, headers: { origin: 'beat' }, expireSeconds: 240 });
    const beat = await h.scheduler();
    expect(await h.at('2026-01-01T10:00:00Z', beat)).toBe(1000); // next run 10 s away: wait at most a poll
    expect((await h.row('refresh')).nextRunAt?.toISOString()).toBe('2026-01-01T10:00:10.000Z');
    await h.at('2026-01-01T10:00:09.999Z', beat);
    expect(h.sent).toHaveLength(0);
    await h.at('2026-01-01T10:00:10.250Z', beat);
    await h.at('2026-01-01T10:00:10.500Z', beat);
    await h.at('2026-01-01T10:00:20.000Z', beat);
    expect(h.sentAt('refresh')).toEqual(['2026-01-01T10:00:10.000Z', '2026-01-01T10:00:20.000Z']);
    expect(h.calls[0]).toEqual({ task: 'cache.refresh', args: ['all'], kwargs: { deep: true }, options: { taskId: h.sent[0]!.id, priority: 3, headers: { origin: 'beat' }, expires: 240 } });
    expect(await h.queued()).toBe(2);

    const row = await h.row('refresh');
    expect(row).toMatchObject({ totalRunCount: 2, lastTaskId: h.sent[1]!.id, version: 1, enabled: true });
    expect(row.lastRunAt?.toISOString()).toBe('2026-01-01T10:00:20.000Z');
    expect(row.nextRunAt?.toISOString()).toBe('2026-01-01T10:00:30.000Z');
    const runs = await h.runs('refresh');
    expect(runs.map((r) => [r.scheduledFor.toISOString(), r.state, r.taskId, r.dispatchedAt.toISOString()])).toEqual([
      ['2026-01-01T10:00:10.000Z', 'SENT', h.sent[0]!.id, '2026-01-01T10:00:10.250Z'],
      ['2026-01-01T10:00:20.000Z', 'SENT', h.sent[1]!.id, '2026-01-01T10:00:20.000Z'],
    ]);
  });

  it('sends a crontab row at the times its fields match', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:01:00Z');
    await h.addTask('quarter', { kind: 'crontab', minute: '*/15', hour: '*', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'UTC' });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:01:00Z', beat);
    await h.at('2026-01-01T10:14:59Z', beat);
    await h.at('2026-01-01T10:15:00.100Z', beat);
    await h.at('2026-01-01T10:16:00Z', beat);
    await h.at('2026-01-01T10:30:00Z', beat);
    expect(h.sentAt('quarter')).toEqual(['2026-01-01T10:15:00.000Z', '2026-01-01T10:30:00.000Z']);
    const row = await h.row('quarter');
    expect(row.totalRunCount).toBe(2);
    expect(row.nextRunAt?.toISOString()).toBe('2026-01-01T10:45:00.000Z');
  });

  it('sends a clocked one-off once at its time, then disables it', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('once', { kind: 'clocked', clockedTime: '2026-01-01T10:05:00Z' }, { oneOff: true });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:04:59Z', beat);
    expect(h.sent).toHaveLength(0);
    await h.at('2026-01-01T10:05:01Z', beat);
    await h.at('2026-01-01T10:06:00Z', beat);
    await h.at('2026-01-02T10:00:00Z', beat);
    expect(h.sentAt('once')).toEqual(['2026-01-01T10:05:00.000Z']);
    expect(await h.row('once')).toMatchObject({ enabled: false, totalRunCount: 1, nextRunAt: null });
    expect(messages(h.log.info).some((m) => m.includes('once disabled: it is a one-off task and ran'))).toBe(true);
  });

  it('sends nothing before start_time, and disables a row once it expires (its messages expire with it)', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('later', { kind: 'interval', every: 1, period: 'minutes' }, { startTime: new Date('2026-01-01T11:00:00Z') });
    await h.addTask('ending', { kind: 'interval', every: 1, period: 'minutes' }, { expires: new Date('2026-01-01T10:02:30Z') });
    const beat = await h.scheduler();
    for (const t of ['10:00:00', '10:01:00', '10:02:00', '10:03:00', '10:59:59', '11:00:00', '11:01:00']) await h.at(`2026-01-01T${t}Z`, beat);
    expect(h.sentAt('later')).toEqual(['2026-01-01T11:00:00.000Z', '2026-01-01T11:01:00.000Z']);
    expect(h.sentAt('ending')).toEqual(['2026-01-01T10:01:00.000Z', '2026-01-01T10:02:00.000Z']);
    expect(h.calls.find((c) => c.task === 'tasks.ending')?.options.expires).toEqual(new Date('2026-01-01T10:02:30Z'));
    expect(await h.row('ending')).toMatchObject({ enabled: false, totalRunCount: 2 });
    expect(messages(h.log.info).some((m) => m.includes('ending disabled: its next run would come after it expires at 2026-01-01T10:02:30.000Z'))).toBe(true);
  });

  it('stops and resumes a row disabled and re-enabled by a raw SQL UPDATE, at the next tick', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('pulse', { kind: 'interval', every: 10, period: 'seconds' });
    await h.addTask('other', { kind: 'interval', every: 10, period: 'seconds' }, { enabled: false });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:00:10Z', beat);
    await h.sql(`UPDATE $task SET enabled = ${h.bool(false)}`); // a bulk update, no WHERE
    await h.at('2026-01-01T10:00:20Z', beat);
    await h.at('2026-01-01T10:00:30Z', beat);
    expect(h.sentAt('pulse')).toEqual(['2026-01-01T10:00:10.000Z']);
    expect(await h.row('pulse')).toMatchObject({ enabled: false, version: 2, nextRunAt: null });

    await h.sql(`UPDATE $task SET enabled = ${h.bool(true)} WHERE name IN ('pulse', 'other')`);
    // Re-enabled after its next run went by: it counts from now, with no catch-up run.
    await h.at('2026-01-01T10:00:35Z', beat);
    expect(h.sent).toHaveLength(1);
    await h.at('2026-01-01T10:00:45Z', beat);
    expect(h.sentAt('pulse')).toEqual(['2026-01-01T10:00:10.000Z', '2026-01-01T10:00:45.000Z']);
    expect(h.sentAt('other')).toEqual(['2026-01-01T10:00:45.000Z']);
  });

  it('follows a crontab edited by raw SQL on the crontab table at the next tick', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:05:00Z');
    const task = await h.addTask('report', { kind: 'crontab', minute: '0', hour: '*', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'UTC' });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:05:00Z', beat);
    expect((await h.row('report')).nextRunAt?.toISOString()).toBe('2026-01-01T11:00:00.000Z');
    await h.sql(`UPDATE $crontab SET minute = '*/5' WHERE id = ${task.crontabId}`);
    await h.at('2026-01-01T10:06:00Z', beat);
    expect(await h.row('report')).toMatchObject({ version: 2 });
    expect((await h.row('report')).nextRunAt?.toISOString()).toBe('2026-01-01T10:10:00.000Z');
    await h.at('2026-01-01T10:10:00Z', beat);
    expect(h.sentAt('report')).toEqual(['2026-01-01T10:10:00.000Z']);
  });

  it('runs one more pass when tick() is called during a pass, so a change made meanwhile is seen', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('blocker', { kind: 'interval', every: 10, period: 'seconds' });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    jest.mocked(h.app.sendTask).mockImplementationOnce(async () => {
      await gate;
      throw new Error('held, then refused');
    });
    h.t = Date.parse('2026-01-01T10:00:10Z');
    const inFlight = beat.tick(); // blocked in its send, its unscheduled rows already read
    await waitFor(() => jest.mocked(h!.app.sendTask).mock.calls.length > 0, 5000, 'the send');
    await h.addTask('late', { kind: 'interval', every: 10, period: 'seconds' });
    const after = beat.tick();
    release();
    await inFlight;
    await after;
    expect((await h.row('late')).nextRunAt?.toISOString()).toBe('2026-01-01T10:00:20.000Z');
  });

  it('sends with the arguments an admin changed, keeping the schedule', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    await h.addTask('args', { kind: 'interval', every: 10, period: 'seconds' }, { args: [1] });
    const beat = await h.scheduler();
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.sql(`UPDATE $task SET args = '[2, "two"]' WHERE name = 'args'`);
    await h.at('2026-01-01T10:00:10Z', beat);
    expect(h.calls.map((c) => c.args)).toEqual([[2, 'two']]);
    expect(h.sentAt('args')).toEqual(['2026-01-01T10:00:10.000Z']);
  });
});
