/**
 * The beat service (Celery's `celery beat`): sends the tasks of `beatSchedule` when they are due.
 *
 * Start order: open Redis (when beat has one) → open the state store → connect the app → take or wait
 * for the lease → loop. Stop order: stop the loop, let a tick in flight finish, give up the lease,
 * close the store and Redis. The app itself is left open (its owner closes it).
 *
 * Where state and leadership live (settings `beatStore`, `beatRedisUrl`):
 * ```text
 * beat Redis (beatRedisUrl, or a redis:// brokerUrl)   lease + run claims in Redis; state in Redis (auto)
 * no Redis                                             one beat: always leader; state in beatScheduleFilename
 * ```
 * @example
 * const beat = new Beat(app); // entries from app.conf.beatSchedule
 * beat.on('sent', ({ entry, id }) => console.log(entry, id));
 * await beat.start();
 * // ... later
 * await beat.close();
 */
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import type { Celeriac } from '../app/celeriac';
import { parseRedisUrl } from '../brokers/redis/redis-url';
import { quit } from '../brokers/redis/redis-connection';
import { BrokerConnectionError, ConfigError } from '../errors';
import type { Logger } from '../logging/logger';
import { toBeatEntries, type BeatEntry, type BeatEntryConfig } from './beat-entry';
import { LocalCoordinator, type BeatCoordinator } from './coordinator';
import { FileScheduleStore } from './file-schedule-store';
import { RedisCoordinator } from './redis-coordinator';
import { RedisScheduleStore } from './redis-schedule-store';
import { MemoryScheduleStore, type EntryState, type ScheduleStore } from './schedule-store';
import { Scheduler, type SkipReason } from './scheduler';

export interface BeatOptions {
  /**
   * Entries added to `beatSchedule`; a name used twice is a ConfigError. `@Periodic` definitions map
   * as `{ [d.name]: { task: d.taskName, schedule: d.schedule, args: d.args, kwargs: d.kwargs,
   * options: { queue: d.queue }, enabled: d.enabled } }`.
   */
  entries?: Record<string, BeatEntryConfig>;
  /** Where state is kept. @defaultValue from beatStore */
  store?: ScheduleStore;
  /** Leadership and run claims. @defaultValue RedisCoordinator when beat has a Redis, else LocalCoordinator */
  coordinator?: BeatCoordinator;
  /** The clock schedules are evaluated with (tests pass a fake one). @defaultValue () => new Date() */
  now?: () => Date;
  /** State file (celery beat -s). @defaultValue beatScheduleFilename, relative to the cwd */
  scheduleFilename?: string;
  /** Seconds. @defaultValue beatMaxLoopInterval */
  maxLoopInterval?: number;
  /** Seconds. @defaultValue beatCatchUpWindow */
  catchUpWindow?: number;
  /** Run the loop on timers; false: call `tick()` yourself (tests). @defaultValue true */
  loop?: boolean;
  logger?: Logger;
}

/** Events a beat emits. */
export interface BeatEventMap {
  /** A run was sent. */
  sent: [{ entry: string; task: string; id: string; runAt: Date }];
  /** A due run was not sent: missed beyond the catch-up window, previous still running, or already claimed. */
  skipped: [{ entry: string; task: string; runAt: Date; reason: SkipReason }];
  /** This beat became the leader (true) or stopped being it (false). */
  leader: [boolean];
  error: [unknown];
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Beat extends EventEmitter<BeatEventMap> {
  readonly entries: readonly BeatEntry[];
  readonly store: ScheduleStore;
  readonly coordinator: BeatCoordinator;
  private readonly scheduler: Scheduler;
  private readonly logger: Logger;
  private readonly redis: Redis | undefined;
  private readonly redisUrl: string | undefined;
  private readonly loopEnabled: boolean;
  private readonly maxLoopMs: number;
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<number> | undefined;
  private wakeAgain = false;

  constructor(
    readonly app: Celeriac,
    options: BeatOptions = {},
  ) {
    super();
    const conf = app.conf;
    this.logger = options.logger ?? app.logger;
    this.loopEnabled = options.loop ?? true;
    const entries = toBeatEntries(conf.beatSchedule, conf.timezone);
    for (const entry of toBeatEntries(options.entries ?? {}, conf.timezone)) {
      if (entries.some((e) => e.name === entry.name)) throw new ConfigError('beatSchedule', `Beat entry "${entry.name}" is defined twice (in beatSchedule and in Beat's entries): rename one.`);
      entries.push(entry);
    }
    this.entries = entries;
    const needsResults = entries.find((e) => e.skipIfRunning && e.enabled);
    if (needsResults && !conf.resultBackend) {
      throw new ConfigError('resultBackend', `Beat entry "${needsResults.name}" has skipIfRunning, which reads the previous run's state: set resultBackend.`);
    }
    this.redisUrl = conf.beatRedisUrl ?? (/^rediss?:/i.test(conf.brokerUrl) ? conf.brokerUrl : undefined);
    const wantsRedisStore = !options.store && (conf.beatStore === 'redis' || (conf.beatStore === 'auto' && this.redisUrl !== undefined));
    if (this.redisUrl && (!options.coordinator || wantsRedisStore)) {
      const parsed = parseRedisUrl(this.redisUrl, conf.beatRedisUrl ? 'beatRedisUrl' : 'brokerUrl');
      this.redis = new Redis({
        ...parsed.options,
        lazyConnect: true,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        connectTimeout: parsed.options.connectTimeout ?? Math.round(conf.brokerConnectionTimeout * 1000),
        retryStrategy: (times) => Math.min(times * 100, 2000),
      });
      this.redis.on('error', (err: unknown) => this.logger.debug({ err }, 'Beat Redis connection error'));
    }
    const leaseMs = conf.beatLeaseTime * 1000;
    this.coordinator = options.coordinator ?? (this.redis ? new RedisCoordinator(this.redis, { prefix: conf.beatKeyPrefix, leaseMs, logger: this.logger }) : new LocalCoordinator());
    this.store = options.store ?? this.defaultStore(options.scheduleFilename);
    if (this.coordinator instanceof RedisCoordinator && !(this.store instanceof RedisScheduleStore) && !options.store) {
      this.logger.warn(
        { store: this.store.constructor.name },
        'beat: replicas share the lease but not their state; after a takeover an interval entry restarts from this replica\'s own last run. Use beatStore "redis" to share it.',
      );
    }
    this.maxLoopMs = (options.maxLoopInterval ?? conf.beatMaxLoopInterval) * 1000;
    const catchUpWindowMs = (options.catchUpWindow ?? conf.beatCatchUpWindow) * 1000;
    this.scheduler = new Scheduler({
      app,
      entries,
      store: this.store,
      coordinator: this.coordinator,
      logger: this.logger,
      now: options.now ?? (() => new Date()),
      maxLoopIntervalMs: this.maxLoopMs,
      catchUpWindowMs,
      // Long enough that no beat can still see the run as due: a stale state file is caught up at most
      // catchUpWindow late, and two leaders overlap at most a lease.
      claimTtlMs: Math.max(catchUpWindowMs, 2 * leaseMs) + 60_000,
      events: {
        sent: (info) => this.emit('sent', info),
        skipped: (info) => this.emit('skipped', info),
        error: (err) => this.emitError(err),
      },
    });
  }

  private defaultStore(filename: string | undefined): ScheduleStore {
    const conf = this.app.conf;
    const kind = conf.beatStore === 'auto' ? (this.redis ? 'redis' : 'file') : conf.beatStore;
    switch (kind) {
      case 'redis':
        return new RedisScheduleStore(this.redis!, conf.beatKeyPrefix);
      case 'file':
        return new FileScheduleStore(resolve(filename ?? conf.beatScheduleFilename), this.logger);
      case 'memory':
        return new MemoryScheduleStore();
    }
  }

  /** The state beat holds for an entry: last run, count, last task id. */
  entryState(name: string): EntryState | undefined {
    return this.scheduler.state(name);
  }

  /** Whether this beat is the one sending. */
  get isLeader(): boolean {
    return this.coordinator.isLeader();
  }

  /** Opens Redis and the store, connects the app, and starts the loop. */
  async start(): Promise<void> {
    if (this.running) return;
    if (this.redis) {
      try {
        await this.redis.connect();
      } catch (err) {
        this.redis.disconnect();
        throw new BrokerConnectionError(`Beat cannot connect to Redis at ${parseRedisUrl(this.redisUrl!).redacted}: ${(err as Error).message}`, { cause: err });
      }
    }
    await this.store.open();
    await this.scheduler.reload();
    await this.app.connect();
    this.running = true;
    const names = this.entries.map((e) => `${e.name} (${e.task}, ${e.schedule.toString()})`);
    this.logger.info({ entries: names }, `beat: Starting with ${this.entries.length} entr${this.entries.length === 1 ? 'y' : 'ies'}`);
    await this.coordinator.start((leader) => {
      this.emit('leader', leader);
      if (leader) void this.onLeadership();
    });
  }

  private async onLeadership(): Promise<void> {
    try {
      // Another beat may have moved on while this one followed.
      await this.scheduler.reload();
    } catch (err) {
      this.emitError(err);
    }
    this.wake();
  }

  /** Runs one pass now (serialized with the loop's); resolves with the ms until the next is due. */
  tick(): Promise<number> {
    if (this.ticking) {
      this.wakeAgain = true;
      return this.ticking;
    }
    const pass = (async () => {
      try {
        return await this.scheduler.tick();
      } catch (err) {
        this.logger.error({ err }, 'Beat tick failed');
        this.emitError(err);
        return 1000;
      }
    })();
    this.ticking = pass;
    void pass.then((delay) => {
      this.ticking = undefined;
      const again = this.wakeAgain;
      this.wakeAgain = false;
      this.schedule(again ? 0 : delay);
    });
    return pass;
  }

  private wake(): void {
    if (this.running && this.loopEnabled) void this.tick();
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    if (!this.running || !this.loopEnabled) return;
    this.timer = setTimeout(() => void this.tick(), Math.min(Math.max(0, delayMs), this.maxLoopMs, MAX_TIMER_MS));
  }

  private emitError(err: unknown): void {
    if (this.listenerCount('error')) this.emit('error', err);
  }

  /** Stops the loop, gives up the lease and closes the store (the app stays open). */
  async close(): Promise<void> {
    if (!this.running) {
      await this.store.close();
      if (this.redis) await quit(this.redis);
      return;
    }
    this.running = false;
    clearTimeout(this.timer);
    await this.ticking;
    await this.coordinator.stop();
    await this.store.close();
    if (this.redis) await quit(this.redis);
    this.logger.info('beat: Stopped');
  }
}
