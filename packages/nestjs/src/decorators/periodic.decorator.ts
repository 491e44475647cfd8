import { ConfigError, SOLAR_EVENTS, parseDuration, toSchedule, type CrontabFields, type SolarEvent } from '@celeriac/core';
import { SetMetadata } from '@nestjs/common';
import { PERIODIC_METADATA } from '../celeriac.constants';
import { INVALID_SCHEDULE } from '../celeriac.messages';

// Celery's solar events, as beat knows them (one list for both).
export { SOLAR_EVENTS, type SolarEvent } from '@celeriac/core';

/** `every`: milliseconds or a duration such as '30s', '5m', '1h', '1d', '250ms'. */
export interface IntervalSchedule {
  every: string | number;
}
/**
 * Five-field crontab (`minute hour day-of-month month day-of-week`), e.g. '0 3 * * *', or Celery's
 * fields `{ minute: 0, hour: 3, dayOfWeek: 'mon-fri' }` (every field must match, as Celery's crontab).
 */
export interface CrontabSchedule {
  crontab: string | CrontabFields;
  /** IANA time zone, e.g. 'Europe/Paris'. @defaultValue the app's timezone */
  timezone?: string;
}
export interface SolarSchedule {
  solar: SolarEvent;
  lat: number;
  lon: number;
}
/** Runs once at the given time. */
export interface ClockedSchedule {
  clocked: Date;
}
export type PeriodicSchedule = IntervalSchedule | CrontabSchedule | SolarSchedule | ClockedSchedule;

export interface PeriodicOptions {
  /** Entry name in the schedule. @defaultValue the task name */
  name?: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string;
  /** @defaultValue true */
  enabled?: boolean;
}

/** What `@Periodic()` stores on a method (validated and normalized). */
export interface PeriodicMetadata {
  readonly schedule: PeriodicSchedule;
  /** For `every` schedules: the interval in milliseconds. */
  readonly intervalMs?: number;
  readonly options: Readonly<PeriodicOptions>;
}

/** Parses `every`: a positive number of milliseconds or '<n><ms|s|m|h|d>' (beat's own parser). */
export function parseEvery(every: unknown): number {
  try {
    return parseDuration(every);
  } catch (err) {
    throw new ConfigError('every', INVALID_SCHEDULE((err as Error).message));
  }
}

function fail(key: string, detail: string): never {
  throw new ConfigError(key, INVALID_SCHEDULE(detail));
}

/** Checks a schedule's shape and returns its metadata; throws a ConfigError naming the bad key. */
export function validatePeriodic(schedule: PeriodicSchedule, options: PeriodicOptions = {}): PeriodicMetadata {
  if (!schedule || typeof schedule !== 'object') fail('schedule', `expected { every } | { crontab } | { solar, lat, lon } | { clocked }, got ${String(schedule)}.`);
  const kinds = (['every', 'crontab', 'solar', 'clocked'] as const).filter((k) => k in schedule);
  if (kinds.length !== 1) fail('schedule', `give exactly one of every, crontab, solar, clocked (got ${kinds.length ? kinds.join(', ') : 'none'}).`);
  let intervalMs: number | undefined;
  if ('every' in schedule) {
    intervalMs = parseEvery(schedule.every);
  } else if ('crontab' in schedule) {
    if (typeof schedule.crontab === 'string') {
      const fields = schedule.crontab.trim().split(/\s+/);
      if (fields.length !== 5) fail('crontab', `crontab must be five fields "minute hour day-of-month month day-of-week", got ${JSON.stringify(schedule.crontab)}.`);
    } else if (!schedule.crontab || typeof schedule.crontab !== 'object') {
      fail('crontab', `crontab must be a five-field string or Celery's fields { minute, hour, dayOfWeek, dayOfMonth, monthOfYear }, got ${JSON.stringify(schedule.crontab)}.`);
    }
    if (schedule.timezone !== undefined) {
      try {
        new Intl.DateTimeFormat('en-US', { timeZone: schedule.timezone });
      } catch {
        fail('timezone', `unknown time zone ${JSON.stringify(schedule.timezone)}.`);
      }
    }
  } else if ('solar' in schedule) {
    if (!SOLAR_EVENTS.includes(schedule.solar)) fail('solar', `solar must be one of ${SOLAR_EVENTS.join(', ')}, got ${JSON.stringify(schedule.solar)}.`);
    if (typeof schedule.lat !== 'number' || !(schedule.lat >= -90 && schedule.lat <= 90)) fail('lat', `lat must be a number in [-90, 90], got ${JSON.stringify(schedule.lat)}.`);
    if (typeof schedule.lon !== 'number' || !(schedule.lon >= -180 && schedule.lon <= 180)) fail('lon', `lon must be a number in [-180, 180], got ${JSON.stringify(schedule.lon)}.`);
  } else if (!(schedule.clocked instanceof Date) || Number.isNaN(schedule.clocked.getTime())) {
    fail('clocked', 'clocked must be a valid Date.');
  }
  // The field values themselves (ranges, steps, names) are checked by the scheduler beat runs.
  if (!('every' in schedule)) {
    try {
      toSchedule(schedule, { timezone: 'UTC' });
    } catch (err) {
      fail(err instanceof ConfigError ? err.key : 'schedule', (err as Error).message);
    }
  }
  if (options.args !== undefined && !Array.isArray(options.args)) fail('args', 'args must be an array.');
  if (options.kwargs !== undefined && (typeof options.kwargs !== 'object' || options.kwargs === null || Array.isArray(options.kwargs))) fail('kwargs', 'kwargs must be an object.');
  if (options.queue !== undefined && (typeof options.queue !== 'string' || !options.queue)) fail('queue', 'queue must be a non-empty string.');
  if (options.enabled !== undefined && typeof options.enabled !== 'boolean') fail('enabled', 'enabled must be true or false.');
  return { schedule, ...(intervalMs === undefined ? {} : { intervalMs }), options: { ...options } };
}

/**
 * Declares the code default schedule of a `@Task` method; beat reads these through
 * `CeleriacExplorer.getPeriodicSchedules()`. The shape is checked when the class is defined.
 * @example
 * @Task('reports.nightly') @Periodic({ crontab: '0 3 * * *', timezone: 'Europe/Paris' }) async nightly() {}
 * @Task('cache.refresh') @Periodic({ every: '5m' }, { args: ['all'] }) async refresh(scope: string) {}
 */
export function Periodic(schedule: PeriodicSchedule, options: PeriodicOptions = {}): MethodDecorator {
  const metadata = validatePeriodic(schedule, options);
  return (target, key, descriptor) => SetMetadata(PERIODIC_METADATA, metadata)(target, key, descriptor);
}
