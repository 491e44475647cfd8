/**
 * Pure decisions of the database scheduler, kept apart from SQL so they are unit-tested: which
 * scheduled run a due row sends, and the options its message is sent with.
 */
import { IntervalSchedule, type ApplyOptions, type Schedule } from '@celeriac/core';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';

/** The run a due row sends. */
export interface DueRun {
  /** Its scheduled time: the latest one at or before now (and not after the row's expiry). */
  readonly runAt: Date;
  /** When earlier runs were missed too (no beat was up): the first of them. */
  readonly missedSince?: Date;
}

/**
 * The run to send for a row whose `next_run_at` has come: the latest scheduled time at or before
 * `now`, on the grid that starts at `nextRunAt` (so the first run is `nextRunAt` itself and an
 * interval keeps the phase its start time gave it). Null when that time is past `expires`.
 */
export function dueRun(schedule: Schedule, nextRunAt: Date, now: Date, expires: Date | null): DueRun | null {
  const limit = expires && expires.getTime() < now.getTime() ? expires : now;
  if (nextRunAt.getTime() > limit.getTime()) return null;
  // isDue counts from the run before: the one that makes nextRunAt the schedule's next time.
  const before = new Date(nextRunAt.getTime() - (schedule instanceof IntervalSchedule ? schedule.everyMs : 1));
  const due = schedule.isDue(before, limit);
  if (!due.due || !due.runAt || due.runAt.getTime() < nextRunAt.getTime()) {
    // next_run_at is off the schedule's grid (written by hand): it is still the time asked for.
    return { runAt: nextRunAt };
  }
  return due.missedSince ? { runAt: due.runAt, missedSince: due.missedSince } : { runAt: due.runAt };
}

/** The row columns a run's message is sent with. */
export type SendColumns = Pick<PeriodicTaskEntity, 'queue' | 'exchange' | 'routingKey' | 'priority' | 'headers' | 'expireSeconds' | 'expires'>;

/**
 * `sendTask` options for a row's run, as django-celery-beat sends them: routing, priority, headers,
 * and the message's expiry (`expire_seconds`, else the row's `expires` time). Null columns are left out.
 */
export function sendOptions(row: SendColumns, taskId: string): ApplyOptions {
  const options: ApplyOptions = { taskId };
  if (row.queue) options.queue = row.queue;
  if (row.exchange) options.exchange = row.exchange;
  if (row.routingKey) options.routingKey = row.routingKey;
  if (row.priority !== null) options.priority = row.priority;
  if (row.headers && Object.keys(row.headers).length) options.headers = row.headers;
  const expires = row.expireSeconds ?? row.expires;
  if (expires !== null) options.expires = expires;
  return options;
}

/** Milliseconds as whole seconds, for log messages. */
export const seconds = (ms: number): number => Math.round(ms / 1000);
