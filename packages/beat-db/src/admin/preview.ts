/** The next run times of a saved row or of a schedule being edited, in the schedule's time zone. */
import { ConfigError, type Schedule } from '@celeriac/core';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { nextRunAt, upcomingRuns } from '../schedules/next-run';
import { inputToSchedule, type ScheduleInput } from '../schedules/schedule-input';
import { AdminError } from './admin-error';
import type { SchedulePreview } from './admin-types';
import { describeSchedule } from './schedule-text';
import { scheduleInputOf } from './views';

export const DEFAULT_PREVIEW_COUNT = 5;
export const MAX_PREVIEW_COUNT = 50;

const timezoneOf = (input: ScheduleInput): string => (input.kind === 'crontab' ? input.timezone : 'UTC');

/** A stored schedule core refuses (written by raw SQL): a 400 naming it, not a 500. */
function storedSchedule(input: ScheduleInput): Schedule {
  try {
    return inputToSchedule(input);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    throw new AdminError(400, 'VALIDATION', `The stored schedule is invalid: ${err.message}`, { schedule: err.message });
  }
}

/** The next `count` runs of a row as beat sees it: after its last run, not before `startTime`, none after `expires`. */
export function previewRow(row: PeriodicTaskEntity, count: number, now = new Date()): SchedulePreview {
  const input = scheduleInputOf(row);
  const schedule = storedSchedule(input);
  const runs: Date[] = [];
  let t = nextRunAt(schedule, row, now);
  while (t && runs.length < count) {
    runs.push(t);
    if (schedule.oneOff || row.oneOff) break;
    t = schedule.nextRunAfter(t);
    if (t && row.expires && t.getTime() > row.expires.getTime()) break;
  }
  return { description: describeSchedule(input), timezone: timezoneOf(input), nextRuns: runs.map((d) => d.toISOString()) };
}

/** The next `count` runs of a schedule from now (the form's preview before saving). */
export function previewSchedule(input: ScheduleInput, count: number, now = new Date()): SchedulePreview {
  const runs = upcomingRuns(inputToSchedule(input), now, count);
  return { description: describeSchedule(input), timezone: timezoneOf(input), nextRuns: runs.map((d) => d.toISOString()) };
}
