/**
 * Code schedules (`beatSchedule`, `@Periodic`) as defaults in the database: each entry is a row named
 * after it with source 'code'. Code owns a row until an admin edits it:
 *
 * ```text
 * no row of that name                          insert it; code_version = version
 * source 'code' and version == code_version    update it to the code's definition when that differs
 * edited since (version != code_version),      leave it, and log that the admin's edits were kept
 *   or created by the admin
 * ```
 * `version` is bumped by the change trigger on every admin or SQL edit, so comparing it with the
 * `code_version` code last wrote tells who wrote last. Rows whose entry left the code stay (an admin
 * deletes them).
 */
import { ConfigError, createLogger, toBeatEntry, type BeatEntry, type BeatEntryConfig, type Logger } from '@celeriac/core';
import type { DataSource, EntityManager, QueryDeepPartialEntity } from 'typeorm';
import { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { rowScheduleInput, toScheduleInput, type ScheduleInput } from '../schedules/schedule-input';
import { scheduleRowFor } from '../schedules/schedule-rows';

export interface SyncCodeSchedulesOptions {
  /** Default time zone of crontab entries. @defaultValue 'UTC' */
  timezone?: string;
  logger?: Logger;
  /** The clock (tells whether a disabled row has finished its schedule). @defaultValue () => new Date() */
  now?: () => Date;
}

/** What `syncCodeSchedules` did, by entry name. */
export interface SyncCodeSchedulesResult {
  created: string[];
  updated: string[];
  /** Rows an admin created or edited: left as they are. */
  kept: string[];
  /** Rows already as the code defines them. */
  unchanged: string[];
}

/** Entry options a periodic-task row has no column for. */
const UNSTORED_OPTIONS = ['serializer', 'compression', 'ignoreResult', 'shadow', 'timeLimit', 'softTimeLimit', 'countdown', 'retry', 'retryPolicy'] as const;

type Definition = Pick<
  PeriodicTaskEntity,
  'task' | 'args' | 'kwargs' | 'queue' | 'exchange' | 'routingKey' | 'priority' | 'headers' | 'expires' | 'expireSeconds' | 'oneOff' | 'enabled' | 'skipIfRunning'
>;

/** The row columns an entry defines (its schedule apart). */
function definitionOf(entry: BeatEntry): Definition {
  const o = entry.options;
  return {
    task: entry.task,
    args: entry.args,
    kwargs: entry.kwargs,
    queue: o.queue ?? null,
    exchange: o.exchange ?? null,
    routingKey: o.routingKey ?? null,
    priority: o.priority ?? null,
    headers: o.headers ?? {},
    // A message expiry in seconds is the row's expire_seconds; an expiry time ends the entry itself.
    expireSeconds: typeof o.expires === 'number' ? Math.ceil(o.expires) : null,
    expires: o.expires instanceof Date ? o.expires : null,
    oneOff: entry.schedule.oneOff,
    enabled: entry.enabled,
    skipIfRunning: entry.skipIfRunning,
  };
}

const same = (a: unknown, b: unknown): boolean => (a instanceof Date || b instanceof Date ? (a as Date | null)?.getTime() === (b as Date | null)?.getTime() : JSON.stringify(a) === JSON.stringify(b));

/**
 * The definition to store over `row`. A row the scheduler disabled because its schedule ended (a
 * one-off that ran, an expired entry) stays disabled while its schedule and bounds are unchanged:
 * enabled again, it would only be disabled again.
 */
function effective(row: PeriodicTaskEntity, def: Definition, schedule: ScheduleInput, now: Date): Definition {
  const finished = row.oneOff || row.clockedId !== null ? row.lastRunAt !== null : row.expires !== null && row.expires.getTime() <= now.getTime();
  const sameBounds = same(rowScheduleInput(row), schedule) && same(row.expires, def.expires) && row.oneOff === def.oneOff;
  return finished && sameBounds && def.enabled && !row.enabled ? { ...def, enabled: false } : def;
}

/** The columns of `def` the row holds differently. */
function changedColumns(row: PeriodicTaskEntity, def: Definition): Record<string, unknown> {
  const changed: Record<string, unknown> = {};
  for (const key of Object.keys(def) as Array<keyof Definition>) if (!same(def[key], row[key])) changed[key] = def[key];
  return changed;
}

/**
 * Upserts code schedules as default rows (see the header); validates every entry first (ConfigError
 * naming the first bad one, nothing written then).
 * @example
 * await syncCodeSchedules(dataSource, { 'nightly-report': { task: 'reports.nightly', schedule: { crontab: '0 3 * * *' } } });
 */
export async function syncCodeSchedules(dataSource: DataSource, entries: Record<string, BeatEntryConfig>, options: SyncCodeSchedulesOptions = {}): Promise<SyncCodeSchedulesResult> {
  const timezone = options.timezone ?? 'UTC';
  const logger = options.logger ?? createLogger('silent');
  const now = (options.now ?? (() => new Date()))();
  const planned = Object.entries(entries).map(([name, config]) => {
    const entry = toBeatEntry(name, config, timezone);
    if (name.length > 200) throw new ConfigError('beatSchedule', `beatSchedule entry "${name.slice(0, 40)}…": a stored entry name has at most 200 characters.`);
    let schedule: ScheduleInput;
    try {
      schedule = toScheduleInput(config.schedule, timezone);
    } catch (err) {
      throw new ConfigError('beatSchedule', `beatSchedule entry "${name}": ${(err as Error).message}`);
    }
    const unstored = UNSTORED_OPTIONS.filter((key) => entry.options[key] !== undefined);
    if (unstored.length) logger.warn({ entry: name, options: unstored }, `beat-db: entry ${name}: options ${unstored.join(', ')} have no column in the database and are not sent`);
    return { name, def: definitionOf(entry), schedule };
  });
  const result: SyncCodeSchedulesResult = { created: [], updated: [], kept: [], unchanged: [] };
  for (const { name, def, schedule } of planned) {
    const once = () => dataSource.transaction((manager) => upsertOne(manager, name, def, schedule, now));
    let outcome: Outcome;
    try {
      outcome = await once();
    } catch (err) {
      if (!isDuplicate(err)) throw err;
      outcome = await once(); // another replica inserted it first: now it exists
    }
    result[outcome].push(name);
    if (outcome === 'kept') logger.info({ entry: name }, `beat-db: periodic task ${name} was created or edited in the admin; its edits are kept over the code's definition`);
    else logger.debug({ entry: name }, `beat-db: code schedule ${name} ${outcome}`);
  }
  return result;
}

type Outcome = keyof SyncCodeSchedulesResult;

async function upsertOne(manager: EntityManager, name: string, def: Definition, schedule: ScheduleInput, now: Date): Promise<Outcome> {
  const repo = manager.getRepository(PeriodicTaskEntity);
  const row = await repo.findOne({ where: { name }, relations: { interval: true, crontab: true, solar: true, clocked: true } });
  const claimCode = (id: number) => repo.createQueryBuilder().update().set({ codeVersion: () => 'version' }).where('id = :id', { id }).execute();
  if (!row) {
    const ids = await scheduleRowFor(manager, schedule);
    const inserted = await repo.save(repo.create({ ...def, ...ids, name, description: '', source: 'code' }));
    await claimCode(inserted.id);
    return 'created';
  }
  if (row.source !== 'code' || row.codeVersion !== row.version) return 'kept';
  // JSON columns (args, kwargs, headers) go through their transformer; TypeORM's type cannot say so.
  const changes = changedColumns(row, effective(row, def, schedule, now)) as QueryDeepPartialEntity<PeriodicTaskEntity>;
  if (!same(rowScheduleInput(row), schedule)) Object.assign(changes, await scheduleRowFor(manager, schedule));
  if (!Object.keys(changes).length) return 'unchanged';
  const updated = await repo.createQueryBuilder().update().set(changes).where('id = :id AND version = :version', { id: row.id, version: row.version }).execute();
  if (updated.affected !== 1) return 'kept'; // an admin edit came in between
  await claimCode(row.id);
  return 'updated';
}

/** A name taken by a concurrent insert (another replica starting too). */
function isDuplicate(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; message?: unknown };
  return e.code === '23505' || e.code === 'ER_DUP_ENTRY' || e.errno === 1062 || /UNIQUE constraint failed/i.test(String(e.message));
}
