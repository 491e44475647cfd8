/**
 * Celery's `schedule(run_every)`: a run every fixed interval. Runs stay on the grid
 * `lastRunAt + k * every`, so a late tick does not push later runs back (no drift), and a beat that was
 * down sends one run for the whole gap, not one per missed interval.
 */
import { ConfigError } from '../../errors';
import type { Schedule, ScheduleDue } from './schedule';

const UNITS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `every` as `@Periodic` does: a number of milliseconds, or a duration such as '250ms', '30s',
 * '5m', '1.5h', '1d'. Throws ConfigError (keyed `key`) otherwise.
 */
export function parseDuration(every: unknown, key = 'every'): number {
  if (typeof every === 'number') {
    if (Number.isFinite(every) && every > 0) return every;
  } else if (typeof every === 'string') {
    const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(every);
    if (match) {
      const ms = Number(match[1]) * UNITS[match[2]!]!;
      if (ms > 0) return ms;
    }
  }
  throw new ConfigError(key, `${key} must be a positive number of milliseconds or a duration like '30s', '5m', '1h', '1d'; got ${JSON.stringify(every)}.`);
}

function describe(ms: number): string {
  for (const unit of ['d', 'h', 'm', 's'] as const) if (ms % UNITS[unit]! === 0) return `${ms / UNITS[unit]!}${unit}`;
  return `${ms}ms`;
}

/**
 * A run every `every` (milliseconds or a duration string).
 * @example
 * new IntervalSchedule('5m').isDue(lastRunAt, new Date()); // { due, nextInMs, runAt }
 */
export class IntervalSchedule implements Schedule {
  readonly kind = 'interval';
  readonly oneOff = false;
  /** The interval in milliseconds. */
  readonly everyMs: number;

  constructor(every: number | string) {
    this.everyMs = parseDuration(every);
  }

  nextRunAfter(after: Date): Date {
    return new Date(after.getTime() + this.everyMs);
  }

  isDue(lastRunAt: Date | null, now: Date): ScheduleDue {
    const base = (lastRunAt ?? now).getTime();
    const elapsed = now.getTime() - base;
    if (elapsed < this.everyMs) return { due: false, nextInMs: this.everyMs - elapsed };
    const steps = Math.floor(elapsed / this.everyMs);
    const runAt = base + steps * this.everyMs;
    return {
      due: true,
      nextInMs: runAt + this.everyMs - now.getTime(),
      runAt: new Date(runAt),
      ...(steps > 1 ? { missedSince: new Date(base + this.everyMs) } : {}),
    };
  }

  toString(): string {
    return `every ${describe(this.everyMs)}`;
  }
}
