/**
 * When a row's next run is due, from its schedule and the columns that bound it. The scheduler stores
 * this in `next_run_at`; the admin shows it and previews the runs after it.
 *
 * - Never ran: interval counts from `startTime` (first run at it) or from now; crontab and solar take
 *   their first time after now (or at/after `startTime`); clocked runs at its time.
 * - Ran: the first scheduled time after `lastRunAt` (it may be in the past: beat was down; the
 *   scheduler's misfire policy decides then).
 * - No run before `startTime`; none after `expires`; a one-off that ran has none.
 */
import type { Schedule } from '@celeriac/core';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';

export type NextRunRow = Pick<PeriodicTaskEntity, 'lastRunAt' | 'startTime' | 'expires' | 'oneOff' | 'totalRunCount'>;

/** The first scheduled time at or after `t`. */
export function firstRunAtOrAfter(schedule: Schedule, t: Date): Date | null {
  if (schedule.kind === 'interval') return t;
  return schedule.nextRunAfter(new Date(t.getTime() - 1));
}

/** The row's next run, or null when it will never run again. */
export function nextRunAt(schedule: Schedule, row: NextRunRow, now: Date): Date | null {
  if ((row.oneOff || schedule.oneOff) && (row.lastRunAt !== null || row.totalRunCount > 0) && schedule.kind !== 'clocked') return null;
  let next: Date | null;
  if (schedule.kind === 'clocked') {
    // Once, at its time; again only if its time was moved past the last run (an admin's edit).
    next = schedule.nextRunAfter(row.lastRunAt ?? new Date(0));
  } else if (row.lastRunAt !== null) {
    next = schedule.nextRunAfter(row.lastRunAt);
  } else if (row.startTime && row.startTime.getTime() > now.getTime()) {
    next = firstRunAtOrAfter(schedule, row.startTime);
  } else {
    next = schedule.nextRunAfter(now);
  }
  if (next && row.startTime && next.getTime() < row.startTime.getTime()) next = firstRunAtOrAfter(schedule, row.startTime);
  if (next && row.expires && next.getTime() > row.expires.getTime()) return null;
  return next;
}

/** The next `count` run times from `from` (admin preview); stops early when the schedule ends. */
export function upcomingRuns(schedule: Schedule, from: Date, count: number, expires: Date | null = null): Date[] {
  const runs: Date[] = [];
  let t: Date | null = schedule.kind === 'clocked' ? schedule.nextRunAfter(new Date(0)) : schedule.nextRunAfter(from);
  while (t && runs.length < count && !(expires && t.getTime() > expires.getTime())) {
    runs.push(t);
    if (schedule.oneOff) break;
    t = schedule.nextRunAfter(t);
  }
  return runs;
}
