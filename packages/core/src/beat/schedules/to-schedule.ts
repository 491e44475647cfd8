/**
 * Schedules as plain data, the shapes `@Periodic` takes (and JSON in CELERIAC_BEAT_SCHEDULE can
 * carry), turned into Schedule objects:
 *
 * ```text
 * { every: '5m' } | { every: 300000 }          interval: a duration, or milliseconds
 * '30s'                                         the same, as text
 * { crontab: '0 3 * * *', timezone? }           crontab; timezone defaults to the app's `timezone`
 * { crontab: { hour: 3, minute: 0 }, timezone? } | { hour: 3, minute: 0, timezone? }   Celery's fields
 * '0 3 * * *'                                   a five-field crontab, as text
 * { solar: 'sunset', lat, lon }                 solar
 * { clocked: Date | '2026-12-31T23:00:00Z' }    one run at that time
 * ```
 */
import { ConfigError } from '../../errors';
import { ClockedSchedule } from './clocked-schedule';
import { CRONTAB_FIELD_NAMES, type CrontabFields } from './crontab-fields';
import { CrontabSchedule } from './crontab-schedule';
import { IntervalSchedule } from './interval-schedule';
import type { Schedule } from './schedule';
import { SolarSchedule, type SolarEvent } from './solar-schedule';

export interface IntervalSpec {
  /** Milliseconds, or a duration such as '30s', '5m', '1h', '1d'. */
  every: string | number;
}
export interface CrontabSpec {
  crontab: string | CrontabFields;
  /** IANA time zone. @defaultValue the app's `timezone` */
  timezone?: string;
}
export type CrontabFieldsSpec = CrontabFields & { timezone?: string };
export interface SolarSpec {
  solar: SolarEvent;
  lat: number;
  lon: number;
}
export interface ClockedSpec {
  clocked: Date | string;
}
/** A schedule as data (see the file header), or a Schedule object. */
export type ScheduleSpec = IntervalSpec | CrontabSpec | CrontabFieldsSpec | SolarSpec | ClockedSpec | string | Schedule;

export interface ToScheduleOptions {
  /** Time zone of crontabs that name none. @defaultValue 'UTC' */
  timezone?: string;
}

const SHAPES = "{ every: '5m' }, { crontab: '0 3 * * *', timezone? }, crontab fields { minute, hour, ... }, { solar, lat, lon } or { clocked: Date }";

/** True for an object that implements Schedule. */
export function isSchedule(value: unknown): value is Schedule {
  const v = value as Partial<Schedule> | null;
  return !!v && typeof v === 'object' && typeof v.isDue === 'function' && typeof v.nextRunAfter === 'function';
}

/** A Schedule from its data form; throws ConfigError naming what is wrong. */
export function toSchedule(spec: ScheduleSpec, options: ToScheduleOptions = {}): Schedule {
  const timezone = options.timezone ?? 'UTC';
  if (isSchedule(spec)) return spec;
  if (typeof spec === 'string') {
    return /^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)\s*$/.test(spec) ? new IntervalSchedule(spec) : new CrontabSchedule(spec, timezone);
  }
  const raw: unknown = spec;
  if (typeof raw === 'number') {
    throw new ConfigError('schedule', `A bare number is ambiguous (Celery reads seconds, @Periodic milliseconds): write { every: '${raw}s' } or { every: ${raw * 1000} }.`);
  }
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new ConfigError('schedule', `Invalid schedule ${JSON.stringify(spec)}: expected ${SHAPES}.`);
  const keys = Object.keys(spec);
  const kinds = ['every', 'crontab', 'solar', 'clocked'].filter((k) => keys.includes(k));
  const fields = keys.filter((k) => (CRONTAB_FIELD_NAMES as readonly string[]).includes(k));
  if (kinds.length + (fields.length ? 1 : 0) !== 1) {
    throw new ConfigError('schedule', `Invalid schedule ${JSON.stringify(spec)}: give exactly one of every, crontab (or its fields), solar, clocked; expected ${SHAPES}.`);
  }
  const allow = (allowed: string[]): void => {
    const extra = keys.filter((k) => !allowed.includes(k));
    if (extra.length) throw new ConfigError('schedule', `Unknown key "${extra[0]}" in schedule ${JSON.stringify(spec)}: allowed here are ${allowed.join(', ')}.`);
  };
  if ('every' in spec) {
    allow(['every']);
    return new IntervalSchedule(spec.every);
  }
  if ('crontab' in spec) {
    allow(['crontab', 'timezone']);
    return new CrontabSchedule(spec.crontab, spec.timezone ?? timezone);
  }
  if ('solar' in spec) {
    allow(['solar', 'lat', 'lon']);
    return new SolarSchedule(spec.solar, spec.lat, spec.lon);
  }
  if ('clocked' in spec) {
    allow(['clocked']);
    return new ClockedSchedule(spec.clocked);
  }
  allow([...CRONTAB_FIELD_NAMES, 'timezone']);
  const { timezone: tz, ...cronFields } = spec;
  return new CrontabSchedule(cronFields, tz ?? timezone);
}
