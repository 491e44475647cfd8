/**
 * A ScheduleInput from untrusted JSON, with an error per field (`schedule.minute`, `schedule.timezone`,
 * `schedule.latitude`...). Core's schedule classes do the real checking, so the admin accepts exactly
 * what beat can run; this only points each of their errors at the field that caused it.
 */
import { ClockedSchedule, ConfigError, CrontabSchedule, SOLAR_EVENTS, SolarSchedule, type SolarEvent } from '@celeriac/core';
import { INTERVAL_PERIODS, type IntervalPeriod } from '../entities/interval-schedule.entity';
import type { ScheduleInput } from '../schedules/schedule-input';

/** Field path → message. */
export type FieldErrors = Record<string, string>;

export const SCHEDULE_KINDS = ['interval', 'crontab', 'solar', 'clocked'] as const;
const CRON_FIELDS = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'] as const;
/** Column lengths of the crontab table. */
const CRON_MAX: Readonly<Record<(typeof CRON_FIELDS)[number], number>> = { minute: 240, hour: 96, dayOfMonth: 124, monthOfYear: 64, dayOfWeek: 64 };
const MAX_INT = 2_147_483_647;

export const isPlainObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** A number, or a string holding one (HTML inputs give strings); undefined otherwise. */
export function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) return Number(v);
  return undefined;
}

function messageOf(err: unknown): string {
  if (err instanceof ConfigError) return err.message;
  throw err;
}

function interval(raw: Record<string, unknown>, path: string, errors: FieldErrors): ScheduleInput | undefined {
  const every = asNumber(raw.every);
  const period = raw.period ?? 'seconds';
  if (every === undefined || !Number.isInteger(every) || every <= 0 || every > MAX_INT) errors[`${path}.every`] = 'every must be a whole number greater than 0.';
  if (typeof period !== 'string' || !(INTERVAL_PERIODS as readonly string[]).includes(period)) errors[`${path}.period`] = `period must be one of ${INTERVAL_PERIODS.join(', ')}.`;
  if (errors[`${path}.every`] || errors[`${path}.period`]) return undefined;
  return { kind: 'interval', every: every!, period: period as IntervalPeriod };
}

function crontab(raw: Record<string, unknown>, path: string, errors: FieldErrors): ScheduleInput | undefined {
  const fields: Partial<Record<(typeof CRON_FIELDS)[number], string>> = {};
  for (const name of CRON_FIELDS) {
    const value = raw[name] ?? '*';
    const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : undefined;
    if (!text) {
      errors[`${path}.${name}`] = `${name} must be cron text such as "*", "*/15", "1-5" or "0".`;
      continue;
    }
    if (text.length > CRON_MAX[name]) {
      errors[`${path}.${name}`] = `${name} is longer than ${CRON_MAX[name]} characters.`;
      continue;
    }
    // Each field alone (the others '*'), so croner's error lands on the field that caused it.
    try {
      new CrontabSchedule({ [name]: text }, 'UTC');
      fields[name] = text;
    } catch (err) {
      const prefix = `Invalid crontab ${JSON.stringify({ [name]: text })}: `;
      const message = messageOf(err);
      errors[`${path}.${name}`] = message.startsWith(prefix) ? `Invalid ${name} "${text}": ${message.slice(prefix.length)}` : message;
    }
  }
  const timezone = raw.timezone ?? 'UTC';
  if (typeof timezone !== 'string' || timezone.length > 63) {
    errors[`${path}.timezone`] = 'timezone must be an IANA time zone name such as "Europe/Paris" or "UTC".';
  } else {
    try {
      new CrontabSchedule('* * * * *', timezone);
    } catch (err) {
      errors[`${path}.timezone`] = messageOf(err);
    }
  }
  if (CRON_FIELDS.some((name) => errors[`${path}.${name}`]) || errors[`${path}.timezone`]) return undefined;
  const { minute, hour, dayOfMonth, monthOfYear, dayOfWeek } = fields as Required<typeof fields>;
  try {
    new CrontabSchedule({ minute, hour, dayOfMonth, monthOfYear, dayOfWeek }, timezone as string);
  } catch (err) {
    errors[path] = messageOf(err);
    return undefined;
  }
  return { kind: 'crontab', minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone: timezone as string };
}

/** Rounded to the 6 decimals the solar table keeps, so the shared row is found again next time. */
const sixDecimals = (n: number): number => Math.round(n * 1e6) / 1e6;

function solar(raw: Record<string, unknown>, path: string, errors: FieldErrors): ScheduleInput | undefined {
  const latitude = asNumber(raw.latitude);
  const longitude = asNumber(raw.longitude);
  if (typeof raw.event !== 'string' || !(SOLAR_EVENTS as readonly string[]).includes(raw.event)) {
    try {
      new SolarSchedule(raw.event as SolarEvent, 0, 0);
      errors[`${path}.event`] = `event must be one of ${SOLAR_EVENTS.join(', ')}.`;
    } catch (err) {
      errors[`${path}.event`] = messageOf(err);
    }
  }
  if (latitude === undefined || latitude < -90 || latitude > 90) errors[`${path}.latitude`] = 'latitude must be a number from -90 to 90.';
  if (longitude === undefined || longitude < -180 || longitude > 180) errors[`${path}.longitude`] = 'longitude must be a number from -180 to 180.';
  if (errors[`${path}.event`] || errors[`${path}.latitude`] || errors[`${path}.longitude`]) return undefined;
  return { kind: 'solar', event: raw.event as SolarEvent, latitude: sixDecimals(latitude!), longitude: sixDecimals(longitude!) };
}

function clocked(raw: Record<string, unknown>, path: string, errors: FieldErrors): ScheduleInput | undefined {
  try {
    if (typeof raw.clockedTime !== 'string') throw new ConfigError('clocked', 'clockedTime must be an ISO 8601 time with an offset, e.g. "2026-12-31T23:00:00Z".');
    return { kind: 'clocked', clockedTime: new ClockedSchedule(raw.clockedTime).at.toISOString() };
  } catch (err) {
    errors[`${path}.clockedTime`] = messageOf(err);
    return undefined;
  }
}

/** The schedule, or undefined with the reasons added to `errors`. */
export function validateSchedule(raw: unknown, errors: FieldErrors, path = 'schedule'): ScheduleInput | undefined {
  if (!isPlainObject(raw)) {
    errors[path] = 'schedule must be an object: { kind: "interval" | "crontab" | "solar" | "clocked", ... }.';
    return undefined;
  }
  switch (raw.kind) {
    case 'interval':
      return interval(raw, path, errors);
    case 'crontab':
      return crontab(raw, path, errors);
    case 'solar':
      return solar(raw, path, errors);
    case 'clocked':
      return clocked(raw, path, errors);
    default:
      errors[`${path}.kind`] = `kind must be one of ${SCHEDULE_KINDS.join(', ')}.`;
      return undefined;
  }
}
