/**
 * Database-scheduler tests: an app on its own memory broker and backend, a fake clock, schedulers
 * driven by tick() (loop: false), periodic-task rows made like the admin makes them, and raw SQL in
 * each dialect.
 */
import { createLogger, LocalCoordinator, type ApplyOptions, type MemoryBroker, type Celeriac, type Logger } from '@celeriac/core';
import { PeriodicTaskEntity, PeriodicTaskRunEntity, TABLES } from '../../src/entities';
import { DatabaseScheduler, type DatabaseSchedulerOptions } from '../../src/scheduler';
import type { ScheduleInput } from '../../src/schedules/schedule-input';
import { scheduleRowFor } from '../../src/schedules/schedule-rows';
import { memoryApp } from '../../../core/test/helpers/memory-app';
import type { DatabaseKind, TestDatabase } from './test-database';

export interface SentCall {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: ApplyOptions;
}

/** A silent logger whose calls are recorded. */
export function spyLogger(): { logger: Logger; error: jest.SpyInstance; warn: jest.SpyInstance; info: jest.SpyInstance } {
  const logger = createLogger('silent');
  return { logger, error: jest.spyOn(logger, 'error'), warn: jest.spyOn(logger, 'warn'), info: jest.spyOn(logger, 'info') };
}

/** The (formatted) text of every call of a spied log method. */
export const messages = (spy: jest.SpyInstance): string[] => spy.mock.calls.map((call: unknown[]) => call.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));


export class SchedulerHarness {
  readonly app: Celeriac;
  readonly calls: SentCall[] = [];
  readonly sent: Array<{ entry: string; id: string; runAt: string }> = [];
  readonly skipped: Array<{ entry: string; reason: string; runAt: string }> = [];
  readonly errors: unknown[] = [];
  readonly log = spyLogger();
  t: number;
  private readonly schedulers: DatabaseScheduler[] = [];

  constructor(
    readonly db: TestDatabase,
    start: string,
    appOptions: Parameters<typeof memoryApp>[0] = {},
  ) {
    this.app = memoryApp(appOptions);
    this.t = Date.parse(start);
    const send = this.app.sendTask.bind(this.app);
    jest.spyOn(this.app, 'sendTask').mockImplementation(async (task, args = [], kwargs = {}, options = {}) => {
      this.calls.push({ task, args, kwargs, options: { ...options } });
      return send(task, args, kwargs, options);
    });
  }

  get kind(): DatabaseKind {
    return this.db.kind;
  }

  /** A started scheduler on the fake clock (LocalCoordinator unless one is given). */
  async scheduler(options: Partial<DatabaseSchedulerOptions> = {}): Promise<DatabaseScheduler> {
    const scheduler = new DatabaseScheduler(this.app, { dataSource: this.db.dataSource, loop: false, now: () => new Date(this.t), coordinator: new LocalCoordinator(), logger: this.log.logger, ...options });
    scheduler.on('sent', (s) => this.sent.push({ entry: s.entry, id: s.id, runAt: s.runAt.toISOString() }));
    scheduler.on('skipped', (s) => this.skipped.push({ entry: s.entry, reason: s.reason, runAt: s.runAt.toISOString() }));
    scheduler.on('error', (err) => this.errors.push(err));
    await scheduler.start();
    this.schedulers.push(scheduler);
    return scheduler;
  }

  /** Moves the clock to `iso` and ticks until the scheduler has nothing left to do now. */
  async at(iso: string, scheduler: DatabaseScheduler): Promise<number> {
    this.t = Date.parse(iso);
    for (let i = 0; i < 1000; i++) {
      const delay = await scheduler.tick();
      if (delay > 0) return delay;
    }
    throw new Error('the scheduler asked for an immediate tick 1000 times in a row');
  }

  /** Adds a periodic task as the admin would. */
  async addTask(name: string, schedule: ScheduleInput, extra: Partial<PeriodicTaskEntity> = {}): Promise<PeriodicTaskEntity> {
    const ids = await scheduleRowFor(this.db.dataSource.manager, schedule);
    const repo = this.db.dataSource.getRepository(PeriodicTaskEntity);
    return repo.save(repo.create({ name, task: `tasks.${name}`, args: [], kwargs: {}, headers: {}, description: '', ...ids, ...extra }));
  }

  row(name: string): Promise<PeriodicTaskEntity> {
    return this.db.dataSource.getRepository(PeriodicTaskEntity).findOneByOrFail({ name });
  }

  runs(name: string): Promise<PeriodicTaskRunEntity[]> {
    return this.db.dataSource.getRepository(PeriodicTaskRunEntity).find({ where: { name }, order: { scheduledFor: 'ASC' } });
  }

  /** Messages waiting on the default queue of the memory broker. */
  queued(): Promise<number> {
    return (this.app.broker as MemoryBroker).queueLength(this.app.conf.taskDefaultQueue);
  }

  sentAt(entry: string): string[] {
    return this.sent.filter((s) => s.entry === entry).map((s) => s.runAt);
  }

  /** A UTC time literal the dialect reads (PostgreSQL's session zone is UTC here). */
  time(iso: string): string {
    return this.kind === 'postgres' ? `'${iso}'` : `'${iso.replace('T', ' ').replace('Z', '')}'`;
  }

  bool(value: boolean): string {
    return this.kind === 'postgres' ? String(value) : value ? '1' : '0';
  }

  /** Raw SQL on the periodic-task table, as a DBA would run it. */
  async sql(statement: string): Promise<void> {
    await this.db.dataSource.query(statement.replaceAll('$task', TABLES.periodicTask).replaceAll('$crontab', TABLES.crontab));
  }

  async close(): Promise<void> {
    for (const s of this.schedulers) await s.close();
    await this.app.close();
  }
}
