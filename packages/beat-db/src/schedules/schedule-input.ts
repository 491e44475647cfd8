/**
 * A schedule as the admin API, the page and code defaults give it: one of django-celery-beat's four
 * schedule kinds, as plain JSON. `toScheduleInput` turns core's ScheduleSpec (what `@Periodic` and
 * `beatSchedule` take) into this form; `scheduleOf` turns a stored row into core's Schedule.
 */
import { ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule, toSchedule, type Schedule, type ScheduleSpec, type SolarEvent } from '@celeriac/core';
import type { IntervalPeriod } from '../entities/interval-schedule.entity';
import { PERIOD_MS } from '../entities/interval-schedule.entity';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';

export interface IntervalInput {
  kind: 'interval';
  every: number;
  period: IntervalPeriod;
}
export interface CrontabInput {
  kind: 'crontab';
  minute: string;
  hour: string;
  dayOfMonth: string;
  monthOfYear: string;
  dayOfWeek: string;
  timezone: string;
}
export interface SolarInput {
  kind: 'solar';
  event: SolarEvent;
  latitude: number;
  longitude: number;
}
export interface ClockedInput {
  kind: 'clocked';
  /** ISO 8601 time. */
  clockedTime: string;
}
export type ScheduleInput = IntervalInput | CrontabInput | SolarInput | ClockedInput;

/** The largest period that divides `ms` evenly (5 minutes → { every: 5, period: 'minutes' }). */
function intervalOf(ms: number): IntervalInput {
  for (const period of ['days', 'hours', 'minutes', 'seconds'] as const) {
    if (ms % PERIOD_MS[period] === 0) return { kind: 'interval', every: ms / PERIOD_MS[period], period };
  }
  return { kind: 'interval', every: Math.round(ms * 1000), period: 'microseconds' };
}

/** Core's schedule forms (`{ every: '5m' }`, crontab text or fields, solar, clocked) as a ScheduleInput. */
export function toScheduleInput(spec: ScheduleSpec, timezone = 'UTC'): ScheduleInput {
  const schedule = toSchedule(spec, { timezone });
  if (schedule instanceof IntervalSchedule) return intervalOf(schedule.everyMs);
  if (schedule instanceof CrontabSchedule) {
    const [minute = '*', hour = '*', dayOfMonth = '*', monthOfYear = '*', dayOfWeek = '*'] = schedule.pattern.trim().split(/\s+/);
    return { kind: 'crontab', minute, hour, dayOfMonth, monthOfYear, dayOfWeek, timezone: schedule.timezone };
  }
  if (schedule instanceof SolarSchedule) return { kind: 'solar', event: schedule.event, latitude: schedule.lat, longitude: schedule.lon };
  if (schedule instanceof ClockedSchedule) return { kind: 'clocked', clockedTime: schedule.at.toISOString() };
  throw new Error(`A ${schedule.kind} schedule object cannot be stored in the database: give it as data ({ every }, { crontab }, { solar }, { clocked }).`);
}

/** Core's Schedule for an input (validates: throws ConfigError naming the bad field). */
export function inputToSchedule(input: ScheduleInput): Schedule {
  switch (input.kind) {
    case 'interval':
      return new IntervalSchedule(input.every * PERIOD_MS[input.period]);
    case 'crontab':
      return new CrontabSchedule({ minute: input.minute, hour: input.hour, dayOfMonth: input.dayOfMonth, monthOfYear: input.monthOfYear, dayOfWeek: input.dayOfWeek }, input.timezone);
    case 'solar':
      return new SolarSchedule(input.event, input.latitude, input.longitude);
    case 'clocked':
      return new ClockedSchedule(input.clockedTime);
  }
}

/** The input form of a row's schedule (the row loaded with its schedule relation); null when it has none. */
export function rowScheduleInput(row: Pick<PeriodicTaskEntity, 'interval' | 'crontab' | 'solar' | 'clocked'>): ScheduleInput | null {
  if (row.interval) return { kind: 'interval', every: row.interval.every, period: row.interval.period };
  if (row.crontab) {
    const c = row.crontab;
    return { kind: 'crontab', minute: c.minute, hour: c.hour, dayOfMonth: c.dayOfMonth, monthOfYear: c.monthOfYear, dayOfWeek: c.dayOfWeek, timezone: c.timezone };
  }
  if (row.solar) return { kind: 'solar', event: row.solar.event, latitude: row.solar.latitude, longitude: row.solar.longitude };
  if (row.clocked) return { kind: 'clocked', clockedTime: row.clocked.clockedTime.toISOString() };
  return null;
}

/** Core's Schedule for a row loaded with its schedule relations; throws when it has none or it is invalid. */
export function scheduleOf(row: Pick<PeriodicTaskEntity, 'name' | 'interval' | 'crontab' | 'solar' | 'clocked'>): Schedule {
  const input = rowScheduleInput(row);
  if (!input) throw new Error(`Periodic task "${row.name}" has no schedule: set one of interval_id, crontab_id, solar_id, clocked_id.`);
  return inputToSchedule(input);
}

/** The relations to load with a periodic task so `scheduleOf` can read it. */
export const SCHEDULE_RELATIONS = ['interval', 'crontab', 'solar', 'clocked'] as const;
