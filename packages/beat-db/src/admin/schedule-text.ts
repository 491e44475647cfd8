/**
 * A schedule in words, for the table and the form: cronstrue for crontabs (with Celery's reading of
 * day-of-month AND day-of-week), short text of our own for the other kinds.
 */
import { CrontabSchedule } from '@celeriac/core';
import { toString as cronToString } from 'cronstrue';
import type { ScheduleInput } from '../schedules/schedule-input';

const EVENT_TEXT: Readonly<Record<string, string>> = {
  dawn_astronomical: 'astronomical dawn',
  dawn_nautical: 'nautical dawn',
  dawn_civil: 'civil dawn',
  sunrise: 'sunrise',
  solar_noon: 'solar noon',
  sunset: 'sunset',
  dusk_civil: 'civil dusk',
  dusk_nautical: 'nautical dusk',
  dusk_astronomical: 'astronomical dusk',
};

/** Cron text in words ('At 03:00, Monday through Friday'); the text itself when cronstrue cannot read it. */
export function describeCron(pattern: string): string {
  try {
    return cronToString(pattern, { use24HourTimeFormat: true, logicalAndDayFields: true, throwExceptionOnParseError: true });
  } catch {
    return `cron ${pattern}`;
  }
}

/** '2026-12-31 23:00 UTC' (seconds only when not zero). */
export function formatUtc(date: Date): string {
  const iso = date.toISOString();
  const seconds = iso.slice(16, 19) === ':00' && iso.endsWith('.000Z') ? '' : iso.slice(16, 19);
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)}${seconds} UTC`;
}

function coordinate(value: number, positive: string, negative: string): string {
  return `${Math.abs(value)}°${value < 0 ? negative : positive}`;
}

/** Core's standard cron text for Celery's dialect ('fri-mon', 'monday'), which cronstrue does not read. */
function standardCron(input: Extract<ScheduleInput, { kind: 'crontab' }>): string {
  const { minute, hour, dayOfMonth, monthOfYear, dayOfWeek } = input;
  try {
    return new CrontabSchedule({ minute, hour, dayOfMonth, monthOfYear, dayOfWeek }, 'UTC').pattern;
  } catch {
    return [minute, hour, dayOfMonth, monthOfYear, dayOfWeek].join(' ');
  }
}

/** 'every 5 minutes', 'At 03:00 (Europe/Paris)', 'sunset at 48.8566°N 2.3522°E', 'once at 2026-12-31 23:00 UTC'. */
export function describeSchedule(input: ScheduleInput): string {
  switch (input.kind) {
    case 'interval': {
      const unit = input.every === 1 ? input.period.replace(/s$/, '') : input.period;
      return input.every === 1 ? `every ${unit}` : `every ${input.every} ${unit}`;
    }
    case 'crontab': {
      return `${describeCron(standardCron(input))} (${input.timezone})`;
    }
    case 'solar':
      return `${EVENT_TEXT[input.event] ?? input.event} at ${coordinate(input.latitude, 'N', 'S')} ${coordinate(input.longitude, 'E', 'W')}`;
    case 'clocked': {
      const at = new Date(input.clockedTime);
      return `once at ${Number.isNaN(at.getTime()) ? input.clockedTime : formatUtc(at)}`;
    }
  }
}
