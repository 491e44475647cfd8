/**
 * Code schedules (beatSchedule, @Periodic entries) upserted as default rows on SQLite, PostgreSQL and
 * MariaDB: created, updated while code owns them, kept once an admin edited them, validated first,
 * and still code's after the scheduler disabled a finished one-off. The scheduler upserts them at start.
 */
import { ConfigError, MemoryBroker, MemoryKeyValueStore, type BeatEntryConfig } from '@celeriac/core';
import { PeriodicTaskEntity } from '../../src/entities';
import { DatabaseScheduler, syncCodeSchedules } from '../../src/scheduler';
import { rowScheduleInput } from '../../src/schedules/schedule-input';
import { DATABASE_KINDS, useTestDatabase } from '../helpers/test-database';
import { messages, SchedulerHarness, spyLogger } from '../helpers/scheduler-harness';
import { memoryApp } from '../../../core/test/helpers/memory-app';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

const ENTRIES: Record<string, BeatEntryConfig> = {
  refresh: { task: 'cache.refresh', schedule: { every: '5m' }, args: ['all'], kwargs: { deep: true }, options: { queue: 'cache', exchange: 'ex', routingKey: 'rk', priority: 3, headers: { origin: 'code' }, expires: 240 } },
  nightly: { task: 'reports.nightly', schedule: { crontab: '0 3 * * *', timezone: 'Europe/Paris' }, skipIfRunning: true },
  launch: { task: 'rocket.launch', schedule: { clocked: '2026-01-01T10:05:00Z' } },
  paused: { task: 'reports.paused', schedule: '*/10 * * * *', enabled: false },
};

describe.each(DATABASE_KINDS)('code schedules on %s', (kind) => {
  const db = useTestDatabase(kind);
  let h: SchedulerHarness | undefined;
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  const repo = () => db.dataSource.getRepository(PeriodicTaskEntity);
  const row = (name: string) => repo().findOneOrFail({ where: { name }, relations: { interval: true, crontab: true, solar: true, clocked: true } });

  it('creates a row per entry, with its schedule, arguments and options, owned by code', async () => {
    expect(await syncCodeSchedules(db.dataSource, ENTRIES)).toEqual({ created: ['refresh', 'nightly', 'launch', 'paused'], updated: [], kept: [], unchanged: [] });
    const refresh = await row('refresh');
    expect(refresh).toMatchObject({
      task: 'cache.refresh', args: ['all'], kwargs: { deep: true }, queue: 'cache', exchange: 'ex', routingKey: 'rk', priority: 3, headers: { origin: 'code' },
      expireSeconds: 240, expires: null, oneOff: false, enabled: true, skipIfRunning: false, source: 'code', version: 1, codeVersion: 1, nextRunAt: null,
    });
    expect(rowScheduleInput(refresh)).toEqual({ kind: 'interval', every: 5, period: 'minutes' });
    expect(rowScheduleInput(await row('nightly'))).toEqual({ kind: 'crontab', minute: '0', hour: '3', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'Europe/Paris' });
    expect(await row('nightly')).toMatchObject({ skipIfRunning: true });
    expect(await row('launch')).toMatchObject({ oneOff: true });
    expect(rowScheduleInput(await row('launch'))).toEqual({ kind: 'clocked', clockedTime: '2026-01-01T10:05:00.000Z' });
    expect(await row('paused')).toMatchObject({ enabled: false });
    expect(await syncCodeSchedules(db.dataSource, ENTRIES)).toEqual({ created: [], updated: [], kept: [], unchanged: ['refresh', 'nightly', 'launch', 'paused'] });
  });

  it('updates a row code still owns when the code changes it', async () => {
    await syncCodeSchedules(db.dataSource, ENTRIES);
    const changed = { ...ENTRIES, refresh: { ...ENTRIES.refresh!, schedule: { every: '30s' }, args: ['some'], options: { queue: 'cache' } } };
    expect(await syncCodeSchedules(db.dataSource, changed)).toMatchObject({ updated: ['refresh'], unchanged: ['nightly', 'launch', 'paused'] });
    const refresh = await row('refresh');
    expect(refresh).toMatchObject({ args: ['some'], queue: 'cache', exchange: null, priority: null, headers: {}, expireSeconds: null, version: 2, codeVersion: 2 });
    expect(rowScheduleInput(refresh)).toEqual({ kind: 'interval', every: 30, period: 'seconds' });
    // A third version of the code still applies: the row is still code's.
    const again = { ...changed, refresh: { ...changed.refresh, args: ['third'] } };
    expect(await syncCodeSchedules(db.dataSource, again)).toMatchObject({ updated: ['refresh'] });
    expect(await row('refresh')).toMatchObject({ args: ['third'], version: 3, codeVersion: 3 });
  });

  it("keeps an admin's edits (and admin-created rows of the same name) over the code, and says so", async () => {
    await syncCodeSchedules(db.dataSource, ENTRIES);
    await repo().update({ name: 'nightly' }, { args: ['admin'] }); // as the admin API writes
    await db.dataSource.query(`UPDATE ${repo().metadata.tableName} SET priority = 9 WHERE name = 'paused'`); // or raw SQL
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    const admin = await h.addTask('manual', { kind: 'interval', every: 1, period: 'hours' }, { task: 'admin.task' });
    const log = spyLogger();
    const code = { ...ENTRIES, nightly: { ...ENTRIES.nightly!, args: ['code'] }, paused: { ...ENTRIES.paused!, args: ['code'] }, manual: { task: 'code.task', schedule: { every: '1m' } } };
    expect(await syncCodeSchedules(db.dataSource, code, { logger: log.logger })).toEqual({ created: [], updated: [], kept: ['nightly', 'paused', 'manual'], unchanged: ['refresh', 'launch'] });
    expect(await row('nightly')).toMatchObject({ args: ['admin'], version: 2, codeVersion: 1 });
    expect(await row('paused')).toMatchObject({ args: [], priority: 9 });
    expect(await row('manual')).toMatchObject({ id: admin.id, task: 'admin.task', source: 'admin', codeVersion: null });
    expect(messages(log.info).filter((m) => m.includes("edits are kept over the code's definition"))).toHaveLength(3);
  });

  it('validates every entry before writing any, and warns about options with no column', async () => {
    const bad = { ...ENTRIES, broken: { task: 'x', schedule: { crontab: '61 * * * *' } } };
    await expect(syncCodeSchedules(db.dataSource, bad)).rejects.toThrow(ConfigError);
    await expect(syncCodeSchedules(db.dataSource, { typo: { task: 'x', schedule: { every: '1m' }, option: {} } as unknown as BeatEntryConfig })).rejects.toThrow(/unknown key "option" \(did you mean "options"\?\)/);
    expect(await repo().count()).toBe(0);
    const log = spyLogger();
    await syncCodeSchedules(db.dataSource, { late: { task: 'x', schedule: { every: '1m' }, options: { countdown: 5, queue: 'q' } } }, { logger: log.logger });
    expect(messages(log.warn)).toEqual([expect.stringContaining('options countdown have no column in the database')]);
  });

  it('leaves a one-off the scheduler disabled after its run in code hands: still code\'s, still disabled', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z');
    const beat = await h.scheduler({ entries: { launch: ENTRIES.launch! } });
    expect(beat.codeSchedules).toEqual({ created: ['launch'], updated: [], kept: [], unchanged: [] });
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:05:00Z', beat);
    expect(h.sentAt('launch')).toEqual(['2026-01-01T10:05:00.000Z']);
    const ran = await row('launch');
    expect(ran).toMatchObject({ enabled: false, version: 2, codeVersion: 2 });
    expect(await syncCodeSchedules(db.dataSource, { launch: ENTRIES.launch! }, { now: () => new Date(h!.t) })).toMatchObject({ unchanged: ['launch'] });
    expect(await syncCodeSchedules(db.dataSource, { launch: { ...ENTRIES.launch!, args: [1] } }, { now: () => new Date(h!.t) })).toMatchObject({ updated: ['launch'] });
    expect(await row('launch')).toMatchObject({ enabled: false, args: [1], codeVersion: 3, version: 3 });
  });

  it('upserts beatSchedule and the given entries when the scheduler starts, and sends them', async () => {
    h = new SchedulerHarness(db, '2026-01-01T10:00:00Z', { beatSchedule: { fromConf: { task: 'conf.task', schedule: { every: '10s' } } } });
    const beat = await h.scheduler({ entries: { fromDecorator: { task: 'decorated.task', schedule: '* * * * *' } } });
    expect(beat.codeSchedules?.created.sort()).toEqual(['fromConf', 'fromDecorator']);
    await h.at('2026-01-01T10:00:00Z', beat);
    await h.at('2026-01-01T10:01:00Z', beat);
    expect(h.sentAt('fromConf')).toEqual(['2026-01-01T10:01:00.000Z']); // one run for the gap, the latest
    expect(h.sentAt('fromDecorator')).toEqual(['2026-01-01T10:01:00.000Z']);
  });

  it('refuses at construction an entry defined twice or one that needs a result backend', () => {
    const app = memoryApp({ beatSchedule: { twice: { task: 't', schedule: { every: '1m' } } } });
    expect(() => new DatabaseScheduler(app, { dataSource: db.dataSource, entries: { twice: { task: 't', schedule: { every: '1m' } } } })).toThrow(/defined twice/);
    expect(() => new DatabaseScheduler(app, { dataSource: db.dataSource, syncBeatSchedule: false, entries: { twice: { task: 't', schedule: { every: '1m' } } } })).not.toThrow();
    const noResults = memoryApp({ resultBackend: undefined });
    expect(() => new DatabaseScheduler(noResults, { dataSource: db.dataSource, entries: { s: { task: 't', schedule: { every: '1m' }, skipIfRunning: true } } })).toThrow(/skipIfRunning/);
    expect(() => new DatabaseScheduler(app, { dataSource: db.dataSource, pollInterval: 0 })).toThrow(ConfigError);
    expect(() => new DatabaseScheduler(app, { dataSource: db.dataSource, batchSize: 2.5 })).toThrow(/batchSize/);
  });
});
