/**
 * Celery's `crontab`: runs when the wall clock in a time zone matches every field. Croner parses and
 * steps through the pattern; two options make it behave as Celery's crontab:
 * - `domAndDow: true`: day-of-month AND day-of-week must both match (Celery), not either (Vixie cron);
 * - `fixedTimeRule: 'no-wildcard'`: a job at fixed hours and minutes (`30 2 * * *`, `0 9,17 * * *`)
 *   runs once a day through DST changes: at the first valid time after a spring-forward gap, and once
 *   (the first time) when a fall-back repeats its hour. Jobs with a wildcard or step in minute or hour
 *   (`0 * * * *`) follow real time: a skipped hour is skipped, a repeated hour runs twice.
 */
import { Cron } from 'croner';
import { ConfigError } from '../../errors';
import { crontabFieldsToText, normalizeCrontabText, type CrontabFields } from './crontab-fields';
import { dueFromTimes, type Schedule, type ScheduleDue } from './schedule';

/** Throws ConfigError unless `timezone` is an IANA zone this runtime knows. */
export function checkTimezone(timezone: unknown, key = 'timezone'): string {
  if (typeof timezone === 'string' && timezone) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: timezone });
      return timezone;
    } catch {
      // fall through
    }
  }
  throw new ConfigError(key, `Unknown time zone ${JSON.stringify(timezone)}: use an IANA name such as "Europe/Paris", "America/New_York" or "UTC".`);
}

/**
 * A crontab in a time zone.
 * @example
 * new CrontabSchedule('30 2 * * *', 'Europe/Paris');
 * new CrontabSchedule({ minute: 0, hour: '9-17', dayOfWeek: 'mon-fri' }, 'America/New_York');
 */
export class CrontabSchedule implements Schedule {
  readonly kind = 'crontab';
  readonly oneOff = false;
  /** Standard five-field cron text (Celery names and wrapping ranges rewritten). */
  readonly pattern: string;
  readonly timezone: string;
  private readonly cron: Cron;

  /** @param timezone IANA zone of the wall clock. @defaultValue 'UTC' (beat passes the app's `timezone`) */
  constructor(spec: string | CrontabFields, timezone = 'UTC') {
    const source = JSON.stringify(spec);
    if (typeof spec !== 'string' && (!spec || typeof spec !== 'object' || Array.isArray(spec))) {
      throw new ConfigError('crontab', `A crontab is five-field text ("0 3 * * *") or fields { minute, hour, dayOfWeek, dayOfMonth, monthOfYear }, got ${JSON.stringify(spec)}.`);
    }
    this.timezone = checkTimezone(timezone);
    this.pattern = typeof spec === 'string' ? normalizeCrontabText(spec) : crontabFieldsToText(spec);
    try {
      this.cron = new Cron(this.pattern, { timezone: this.timezone, mode: '5-part', domAndDow: true, fixedTimeRule: 'no-wildcard' });
    } catch (err) {
      const why = (err as Error).message.replace(/^CronPattern: /, '');
      throw new ConfigError('crontab', `Invalid crontab ${source}: ${why}. Fields are minute (0-59), hour (0-23), day-of-month (1-31), month (1-12), day-of-week (0-6, 0 = Sunday, or sun-sat).`);
    }
  }

  nextRunAfter(after: Date): Date | null {
    return this.cron.nextRun(after);
  }

  /** The latest scheduled time at or before `t`. */
  lastRunAtOrBefore(t: Date): Date | null {
    // previousRuns looks strictly before its (whole-second) reference.
    const [candidate] = this.cron.previousRuns(1, new Date(t.getTime() + 1000));
    if (candidate && candidate.getTime() <= t.getTime()) return candidate;
    return this.cron.previousRuns(1, t)[0] ?? null;
  }

  isDue(lastRunAt: Date | null, now: Date): ScheduleDue {
    return dueFromTimes(this, (t) => this.lastRunAtOrBefore(t), lastRunAt, now);
  }

  toString(): string {
    return `crontab ${this.pattern} (${this.timezone})`;
  }
}
