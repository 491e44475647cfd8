/** django-celery-beat's `clocked`: one run at a given time, then never again. */
import { ConfigError } from '../../errors';
import type { Schedule, ScheduleDue } from './schedule';

/**
 * One run at `at` (a Date or an ISO 8601 string with an offset).
 * @example
 * new ClockedSchedule(new Date('2026-12-31T23:00:00Z'));
 */
export class ClockedSchedule implements Schedule {
  readonly kind = 'clocked';
  readonly oneOff = true;
  readonly at: Date;

  constructor(at: Date | string) {
    const date = typeof at === 'string' ? new Date(at) : at;
    if (!(date instanceof Date) || Number.isNaN(date.getTime()) || (typeof at === 'string' && !/^\d{4}-\d\d-\d\dT.*(Z|[+-]\d\d:?\d\d)$/i.test(at.trim()))) {
      throw new ConfigError('clocked', `clocked must be a valid Date or an ISO 8601 time with an offset ("2026-12-31T23:00:00Z"), got ${JSON.stringify(at)}.`);
    }
    this.at = new Date(date.getTime());
  }

  nextRunAfter(after: Date): Date | null {
    return after.getTime() < this.at.getTime() ? this.at : null;
  }

  isDue(lastRunAt: Date | null, now: Date): ScheduleDue {
    if (lastRunAt && lastRunAt.getTime() >= this.at.getTime()) return { due: false, nextInMs: null };
    const wait = this.at.getTime() - now.getTime();
    return wait > 0 ? { due: false, nextInMs: wait } : { due: true, nextInMs: null, runAt: this.at };
  }

  toString(): string {
    return `clocked ${this.at.toISOString()}`;
  }
}
