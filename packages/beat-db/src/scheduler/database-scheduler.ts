/**
 * Beat over a database (django-celery-beat's DatabaseScheduler): periodic tasks are rows an admin,
 * SQL or code defaults write, and this scheduler sends them when due.
 *
 * - Incremental: each tick reads only rows through the (enabled, next_run_at) index, in LIMIT
 *   batches: rows whose next_run_at a change cleared (the change trigger does, for admin edits,
 *   bulk updates and raw SQL alike) and rows due now. A change is picked up at the next tick
 *   (`pollInterval`), without a restart; the table is never loaded whole.
 * - Safe on every replica: a lease elects one leader (DatabaseLeaseCoordinator, or any core
 *   BeatCoordinator such as RedisCoordinator), and each run is claimed by a conditional UPDATE of its
 *   row, so a run is sent once even while two leaders overlap.
 * - Misfire policy as core's Scheduler: a run missed while no beat was up is sent once if no older
 *   than `catchUpWindow`, else skipped and logged (run history state SKIPPED_MISSED).
 *
 * Start: connect the app → upsert code defaults → take (or wait for) the lease → loop. Close: stop
 * the loop, let a tick in flight finish, give up the lease. The app and the DataSource stay open.
 * @example
 * const dataSource = createBeatDataSource({ url: 'postgres://beat@db/beat' });
 * await dataSource.initialize();
 * await runBeatMigrations(dataSource);
 * const beat = new DatabaseScheduler(app, { dataSource });
 * beat.on('sent', ({ entry, id }) => console.log(entry, id));
 * await beat.start();
 */
import { EventEmitter } from 'node:events';
import { ConfigError, toBeatEntries, type BeatCoordinator, type BeatEntryConfig, type BeatEventMap, type Celeriac, type Logger } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { syncCodeSchedules, type SyncCodeSchedulesResult } from './code-defaults';
import { DatabaseLeaseCoordinator } from './database-lease-coordinator';
import { HistoryRefresher } from './run-history';
import { SchedulerPass } from './scheduler-pass';
import { TaskWrites } from './task-writes';

export interface DatabaseSchedulerOptions {
  /** An initialized DataSource with beat-db's entities, migrated (runBeatMigrations). */
  dataSource: DataSource;
  /** Seconds between ticks: the longest a change waits to be seen. @defaultValue 1 */
  pollInterval?: number;
  /** Rows read per query. @defaultValue 500 */
  batchSize?: number;
  /** Seconds a missed run may be late and still be sent (once). @defaultValue app.conf.beatCatchUpWindow */
  catchUpWindow?: number;
  /** Seconds of the leader lease. @defaultValue app.conf.beatLeaseTime */
  leaseTime?: number;
  /** Name of the lease row; beats sharing it elect one leader. @defaultValue 'default' */
  leaseName?: string;
  /** Leadership. @defaultValue a DatabaseLeaseCoordinator on `dataSource` */
  coordinator?: BeatCoordinator;
  /** Upsert app.conf.beatSchedule as code defaults at start. @defaultValue true */
  syncBeatSchedule?: boolean;
  /** More code defaults (e.g. from `@Periodic`), upserted at start; a name also in beatSchedule is a ConfigError. */
  entries?: Record<string, BeatEntryConfig>;
  /** Seconds between reads of sent runs' final states from the result backend. @defaultValue 5 */
  historyRefreshInterval?: number;
  /** The clock schedules are evaluated with (tests pass a fake one). @defaultValue () => new Date() */
  now?: () => Date;
  /** Run the loop on timers; false: call `tick()` yourself (tests). @defaultValue true */
  loop?: boolean;
  /** @defaultValue app.logger */
  logger?: Logger;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

function positive(value: number | undefined, fallback: number, key: string, min = Number.MIN_VALUE): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < min) throw new ConfigError(key, `DatabaseScheduler option ${key} must be a number ${min === 0 ? '>= 0' : '> 0'}, got ${JSON.stringify(value)}.`);
  return v;
}

export class DatabaseScheduler extends EventEmitter<BeatEventMap> {
  readonly coordinator: BeatCoordinator;
  readonly dataSource: DataSource;
  private readonly codeEntries: Record<string, BeatEntryConfig>;
  private readonly logger: Logger;
  private readonly clock: () => Date;
  private readonly pollMs: number;
  private readonly refreshMs: number;
  private readonly loopEnabled: boolean;
  private readonly writes: TaskWrites;
  private readonly pass: SchedulerPass;
  private readonly refresher: HistoryRefresher;
  private codeSync: SyncCodeSchedulesResult | undefined;
  private lastRefresh = Number.NEGATIVE_INFINITY;
  private running = false;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<number> | undefined;
  private queued: Promise<number> | undefined;

  constructor(
    readonly app: Celeriac,
    options: DatabaseSchedulerOptions,
  ) {
    super();
    const conf = app.conf;
    if (!options?.dataSource) throw new ConfigError('dataSource', 'DatabaseScheduler needs { dataSource }: a DataSource from createBeatDataSource(), initialized and migrated.');
    this.dataSource = options.dataSource;
    this.logger = options.logger ?? app.logger;
    this.clock = options.now ?? (() => new Date());
    this.loopEnabled = options.loop ?? true;
    this.pollMs = positive(options.pollInterval, 1, 'pollInterval') * 1000;
    this.refreshMs = positive(options.historyRefreshInterval, 5, 'historyRefreshInterval') * 1000;
    const batchSize = positive(options.batchSize, 500, 'batchSize', 1);
    if (!Number.isInteger(batchSize)) throw new ConfigError('batchSize', `DatabaseScheduler option batchSize must be an integer >= 1, got ${batchSize}.`);
    const catchUpWindowMs = positive(options.catchUpWindow, conf.beatCatchUpWindow, 'catchUpWindow', 0) * 1000;
    const leaseTime = positive(options.leaseTime, conf.beatLeaseTime, 'leaseTime');

    this.codeEntries = { ...((options.syncBeatSchedule ?? true) ? conf.beatSchedule : {}) };
    for (const [name, entry] of Object.entries(options.entries ?? {})) {
      if (name in this.codeEntries) throw new ConfigError('beatSchedule', `Beat entry "${name}" is defined twice (in beatSchedule and in DatabaseScheduler's entries): rename one.`);
      this.codeEntries[name] = entry;
    }
    const entries = toBeatEntries(this.codeEntries, conf.timezone); // validates now, not at start
    const needsResults = entries.find((e) => e.skipIfRunning && e.enabled);
    if (needsResults && !conf.resultBackend) {
      throw new ConfigError('resultBackend', `Beat entry "${needsResults.name}" has skipIfRunning, which reads the previous run's state: set resultBackend.`);
    }

    this.coordinator = options.coordinator ?? new DatabaseLeaseCoordinator(this.dataSource, { leaseTime, leaseName: options.leaseName ?? 'default', logger: this.logger });
    this.writes = new TaskWrites(this.dataSource);
    this.refresher = new HistoryRefresher(this.dataSource, app, this.logger);
    this.pass = new SchedulerPass({
      app,
      dataSource: this.dataSource,
      writes: this.writes,
      logger: this.logger,
      batchSize,
      catchUpWindowMs,
      isLeader: () => this.coordinator.isLeader(),
      events: {
        sent: (info) => this.emit('sent', info),
        skipped: (info) => this.emit('skipped', info),
        error: (err) => this.emitError(err),
      },
    });
  }

  /** What the code-default sync did at start (undefined before start, or with no code entries). */
  get codeSchedules(): SyncCodeSchedulesResult | undefined {
    return this.codeSync;
  }

  /** Whether this beat is the one sending. */
  get isLeader(): boolean {
    return this.coordinator.isLeader();
  }

  /** Connects the app, upserts code defaults, and takes (or waits for) the lease and loops. */
  async start(): Promise<void> {
    if (this.running) return;
    if (!this.dataSource.isInitialized) throw new ConfigError('dataSource', 'DatabaseScheduler: initialize the DataSource (and run runBeatMigrations) before start().');
    await this.app.connect();
    if (Object.keys(this.codeEntries).length) {
      this.codeSync = await syncCodeSchedules(this.dataSource, this.codeEntries, { timezone: this.app.conf.timezone, logger: this.logger, now: this.clock });
    }
    this.running = true;
    this.logger.info({ codeSchedules: this.codeSync }, 'beat-db: Starting the database scheduler');
    await this.coordinator.start((leader) => {
      this.emit('leader', leader);
      if (leader) this.wake();
    });
  }

  /**
   * Runs one pass (serialized with the loop's); resolves with the ms until the next is due. While a
   * pass is in flight, it runs one more after it, since that one may have read before the caller's
   * change; calls made meanwhile share that next pass.
   */
  tick(): Promise<number> {
    if (this.ticking) {
      this.queued ??= this.ticking.then(() => {
        this.queued = undefined;
        return this.tick();
      });
      return this.queued;
    }
    const pass = this.runTick().catch((err: unknown) => {
      this.logger.error({ err }, 'beat-db: tick failed');
      this.emitError(err);
      return this.pollMs;
    });
    this.ticking = pass;
    void pass.then((delay) => {
      this.ticking = undefined;
      this.schedule(delay);
    });
    return pass;
  }

  /** Copies sent runs' final states from the result backend into the run history now. */
  refreshHistory(): Promise<number> {
    this.lastRefresh = this.clock().getTime();
    return this.refresher.refresh(this.clock());
  }

  private async runTick(): Promise<number> {
    if (!this.coordinator.isLeader()) return this.pollMs;
    const now = this.clock();
    const moreUnscheduled = await this.pass.scheduleNew(now);
    const moreDue = await this.pass.dispatchDue(now);
    if (now.getTime() - this.lastRefresh >= this.refreshMs) {
      await this.refreshHistory().catch((err: unknown) => this.logger.warn({ err }, 'beat-db: could not refresh run history'));
    }
    if (moreUnscheduled || moreDue) return 0;
    const earliest = await this.writes.earliest();
    // Still due at the pass's own time: its send failed or another beat holds it; wait a poll.
    if (!earliest || earliest.getTime() <= now.getTime()) return this.pollMs;
    return Math.min(this.pollMs, Math.max(0, earliest.getTime() - this.clock().getTime()));
  }

  private wake(): void {
    if (this.running && this.loopEnabled) void this.tick();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (!this.running || !this.loopEnabled) return;
    this.timer = setTimeout(() => void this.tick(), Math.min(Math.max(0, delayMs), MAX_TIMER_MS));
  }

  private emitError(err: unknown): void {
    if (this.listenerCount('error')) this.emit('error', err);
  }

  /** Stops the loop, waits for a tick in flight and gives up the lease (the app and DataSource stay open). */
  async close(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    clearTimeout(this.timer);
    while (this.ticking || this.queued) await (this.queued ?? this.ticking);
    await this.coordinator.stop();
    this.logger.info('beat-db: Stopped the database scheduler');
  }
}
