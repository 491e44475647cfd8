/**
 * What every beat schedule answers (Celery's `BaseSchedule`): is a run due, and when is the next one.
 * Times are instants (`Date`); schedules with a wall clock (crontab) carry their own time zone.
 */

/** The answer of `Schedule.isDue` (Celery's `schedstate(is_due, next)`, with the run's scheduled time). */
export interface ScheduleDue {
  /** A run is due now. */
  readonly due: boolean;
  /** Milliseconds from `now` to the next run after this one; null when no run will ever follow. */
  readonly nextInMs: number | null;
  /**
   * When `due`: the scheduled time of the run to send, the latest one at or before `now`. It names the
   * run (beat's idempotency key), so two beats agree on it whatever their clocks read.
   */
  readonly runAt?: Date;
  /** When `due` and earlier runs were missed too (beat was down): the first of them. */
  readonly missedSince?: Date;
}

/** A periodic schedule. Implementations: interval, crontab, solar, clocked. */
export interface Schedule {
  readonly kind: 'interval' | 'crontab' | 'solar' | 'clocked';
  /** Runs once and never again (clocked): a new entry is not anchored at the time beat first saw it. */
  readonly oneOff: boolean;
  /** The first scheduled time strictly after `after`, or null when there is none. */
  nextRunAfter(after: Date): Date | null;
  /**
   * Whether a run is due at `now`, counting from `lastRunAt`: the scheduled time of the last run, or
   * when beat first saw the entry. Null (never ran) counts from `now`, as Celery's entries default
   * `last_run_at` to now; a one-off schedule is then due once its time has come.
   */
  isDue(lastRunAt: Date | null, now: Date): ScheduleDue;
  /** A short human description, for logs: `every 5m`, `crontab 0 3 * * * (Europe/Paris)`. */
  toString(): string;
}

/** `isDue` for schedules whose runs sit on fixed times: due when a run fell in (lastRunAt, now]. */
export function dueFromTimes(schedule: Pick<Schedule, 'nextRunAfter'>, latestAtOrBefore: (t: Date) => Date | null, lastRunAt: Date | null, now: Date): ScheduleDue {
  const first = schedule.nextRunAfter(lastRunAt ?? now);
  if (!first || first.getTime() > now.getTime()) {
    const next = first ?? schedule.nextRunAfter(now);
    return { due: false, nextInMs: next ? next.getTime() - now.getTime() : null };
  }
  const runAt = latestAtOrBefore(now) ?? first;
  const next = schedule.nextRunAfter(now);
  const due: { due: true; nextInMs: number | null; runAt: Date; missedSince?: Date } = { due: true, nextInMs: next ? next.getTime() - now.getTime() : null, runAt };
  if (first.getTime() < runAt.getTime()) due.missedSince = first;
  return due;
}
