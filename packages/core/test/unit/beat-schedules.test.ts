/** Beat schedules: interval, crontab (Celery's fields), solar, clocked, and their data forms. */
import { ClockedSchedule, ConfigError, CrontabSchedule, IntervalSchedule, SOLAR_EVENTS, SolarSchedule, toSchedule } from '../../src';

const at = (iso: string): Date => new Date(iso);
const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

describe('IntervalSchedule', () => {
  it('parses milliseconds and durations', () => {
    expect(new IntervalSchedule(1500).everyMs).toBe(1500);
    expect(new IntervalSchedule('250ms').everyMs).toBe(250);
    expect(new IntervalSchedule('30s').everyMs).toBe(30_000);
    expect(new IntervalSchedule('1.5h').everyMs).toBe(5_400_000);
    expect(new IntervalSchedule('1d').toString()).toBe('every 1d');
    for (const bad of [0, -5, '5 minutes', '', 'm', Number.NaN]) expect(() => new IntervalSchedule(bad as never)).toThrow(ConfigError);
  });

  it('is due once the interval has passed, and stays on its grid', () => {
    const s = new IntervalSchedule('5m');
    const last = at('2026-01-01T10:00:00Z');
    expect(s.isDue(last, at('2026-01-01T10:04:00Z'))).toEqual({ due: false, nextInMs: 60_000 });
    const due = s.isDue(last, at('2026-01-01T10:05:00.200Z'));
    expect(due).toMatchObject({ due: true, nextInMs: 300_000 - 200 });
    expect(iso(due.runAt)).toBe('2026-01-01T10:05:00.000Z');
    expect(due.missedSince).toBeUndefined();
  });

  it('folds a long gap into one run, the latest, and names the first missed', () => {
    const due = new IntervalSchedule('5m').isDue(at('2026-01-01T10:00:00Z'), at('2026-01-01T10:17:00Z'));
    expect(iso(due.runAt)).toBe('2026-01-01T10:15:00.000Z');
    expect(iso(due.missedSince)).toBe('2026-01-01T10:05:00.000Z');
    expect(due.nextInMs).toBe(3 * 60_000);
  });

  it('counts from now when it never ran (as Celery)', () => {
    expect(new IntervalSchedule('1m').isDue(null, at('2026-01-01T10:00:00Z'))).toEqual({ due: false, nextInMs: 60_000 });
  });
});

describe('CrontabSchedule', () => {
  it('finds the next run in its time zone', () => {
    const s = new CrontabSchedule('0 3 * * *', 'Europe/Paris');
    expect(iso(s.nextRunAfter(at('2026-01-10T12:00:00Z')))).toBe('2026-01-11T02:00:00.000Z');
    expect(iso(s.nextRunAfter(at('2026-07-10T12:00:00Z')))).toBe('2026-07-11T01:00:00.000Z');
    expect(s.toString()).toBe('crontab 0 3 * * * (Europe/Paris)');
  });

  it('is due for the latest run in (lastRunAt, now], not before', () => {
    const s = new CrontabSchedule('*/15 * * * *');
    expect(s.isDue(at('2026-01-01T10:00:00Z'), at('2026-01-01T10:14:59Z'))).toEqual({ due: false, nextInMs: 1000 });
    const due = s.isDue(at('2026-01-01T10:00:00Z'), at('2026-01-01T10:50:00Z'));
    expect(iso(due.runAt)).toBe('2026-01-01T10:45:00.000Z');
    expect(iso(due.missedSince)).toBe('2026-01-01T10:15:00.000Z');
    expect(due.nextInMs).toBe(10 * 60_000);
    // exactly on time
    expect(iso(s.isDue(at('2026-01-01T10:00:00Z'), at('2026-01-01T10:15:00Z')).runAt)).toBe('2026-01-01T10:15:00.000Z');
  });

  it('takes day-of-month AND day-of-week, as Celery does (not cron\'s OR)', () => {
    // The 13th that is a Friday: 2026-02-13, then 2026-03-13.
    const s = new CrontabSchedule({ minute: 0, hour: 0, dayOfMonth: 13, dayOfWeek: 'fri' });
    expect(iso(s.nextRunAfter(at('2026-01-01T00:00:00Z')))).toBe('2026-02-13T00:00:00.000Z');
    expect(iso(s.nextRunAfter(at('2026-02-14T00:00:00Z')))).toBe('2026-03-13T00:00:00.000Z');
    // One of them '*': the other alone decides.
    expect(iso(new CrontabSchedule('0 0 * * mon').nextRunAfter(at('2026-01-01T00:00:00Z')))).toBe('2026-01-05T00:00:00.000Z');
    expect(iso(new CrontabSchedule('0 0 15 * *').nextRunAfter(at('2026-01-01T00:00:00Z')))).toBe('2026-01-15T00:00:00.000Z');
  });

  it('reads Celery\'s day-of-week: 0 = Sunday, names spelt out or cut, ranges that wrap', () => {
    const sunday = '2026-01-04T00:00:00.000Z';
    expect(iso(new CrontabSchedule({ minute: 0, hour: 0, dayOfWeek: 0 }).nextRunAfter(at('2026-01-01T00:00:00Z')))).toBe(sunday);
    expect(iso(new CrontabSchedule({ minute: 0, hour: 0, dayOfWeek: 'sunday' }).nextRunAfter(at('2026-01-01T00:00:00Z')))).toBe(sunday);
    expect(new CrontabSchedule({ minute: 0, hour: 0, dayOfWeek: 'Thurs' }).pattern).toBe('0 0 * * 4');
    expect(new CrontabSchedule({ dayOfWeek: 'fri-mon' }).pattern).toBe('* * * * 5,6,0,1');
    expect(new CrontabSchedule('0 22-2 * * *').pattern).toBe('0 22,23,0,1,2 * * *');
    expect(new CrontabSchedule({ minute: 0, hour: '22-4/2' }).pattern).toBe('0 22,0,2,4 * * *');
    expect(new CrontabSchedule({ minute: [0, 30], hour: [9, 17], monthOfYear: 'jan' }).pattern).toBe('0,30 9,17 * 1 *');
    expect(new CrontabSchedule({}).pattern).toBe('* * * * *');
  });

  it('rejects bad text, fields and time zones with a ConfigError that says what to write', () => {
    expect(() => new CrontabSchedule('* * *')).toThrow(/expected five fields/);
    expect(() => new CrontabSchedule('61 * * * *')).toThrow(/Invalid crontab "61 \* \* \* \*".*minute \(0-59\)/);
    expect(() => new CrontabSchedule('0 0 * * funday')).toThrow(ConfigError);
    expect(() => new CrontabSchedule({ minute: 1.5 })).toThrow(/not an integer/);
    expect(() => new CrontabSchedule({ minutes: 5 } as never)).toThrow(/Unknown crontab field "minutes"/);
    expect(() => new CrontabSchedule('0 3 * * *', 'Europe/Pariss')).toThrow(/Unknown time zone "Europe\/Pariss"/);
    expect(() => new CrontabSchedule('0 3 * * * *')).toThrow(ConfigError);
  });
});

describe('SolarSchedule', () => {
  it('finds Celery\'s sun events in order through a day (Paris)', () => {
    const equinox = at('2026-03-19T23:00:00Z'); // midnight in Paris
    const times = SOLAR_EVENTS.map((event) => new SolarSchedule(event, 48.8566, 2.3522).nextRunAfter(equinox)!.getTime());
    expect([...times].sort((a, b) => a - b)).toEqual(times);
    expect(times[times.length - 1]! - times[0]!).toBeLessThan(24 * 3_600_000);
    // No astronomical night in Paris at midsummer: the next astronomical dawn is days later.
    const from = at('2026-06-20T22:00:00Z');
    expect(new SolarSchedule('dawn_astronomical', 48.8566, 2.3522).nextRunAfter(from)!.getTime()).toBeGreaterThan(at('2026-06-25T00:00:00Z').getTime());
    // Sunrise in Paris on 21 June is about 05:47 CEST (03:47 UTC); sunset about 21:58 CEST.
    const sunrise = new SolarSchedule('sunrise', 48.8566, 2.3522).nextRunAfter(from)!;
    expect(Math.abs(sunrise.getTime() - at('2026-06-21T03:47:00Z').getTime())).toBeLessThan(3 * 60_000);
    const sunset = new SolarSchedule('sunset', 48.8566, 2.3522).nextRunAfter(from)!;
    expect(Math.abs(sunset.getTime() - at('2026-06-21T19:58:00Z').getTime())).toBeLessThan(3 * 60_000);
  });

  it('is due after the event and not before', () => {
    const s = new SolarSchedule('sunrise', 40.7128, -74.006);
    const sunrise = s.nextRunAfter(at('2026-03-01T00:00:00Z'))!;
    expect(s.isDue(at('2026-03-01T00:00:00Z'), new Date(sunrise.getTime() - 1000)).due).toBe(false);
    const due = s.isDue(at('2026-03-01T00:00:00Z'), new Date(sunrise.getTime() + 1000));
    expect(due.due).toBe(true);
    expect(due.runAt).toEqual(sunrise);
    expect(due.nextInMs).toBeGreaterThan(23 * 3_600_000);
  });

  it('skips days without the event near the poles', () => {
    // Tromsø: no sunrise from late November to mid-January.
    const next = new SolarSchedule('sunrise', 69.6492, 18.9553).nextRunAfter(at('2026-12-01T00:00:00Z'))!;
    expect(next.getTime()).toBeGreaterThan(at('2027-01-10T00:00:00Z').getTime());
    expect(next.getTime()).toBeLessThan(at('2027-01-20T00:00:00Z').getTime());
  });

  it('rejects unknown events and bad coordinates', () => {
    expect(() => new SolarSchedule('sun_rise' as never, 0, 0)).toThrow(/Unknown solar event "sun_rise".*did you mean "sunrise"/);
    expect(() => new SolarSchedule('dawn' as never, 0, 0)).toThrow(/dawn_astronomical, dawn_nautical, dawn_civil/);
    expect(() => new SolarSchedule('sunset', 91, 0)).toThrow(/latitude must be a number from -90 to 90/);
    expect(() => new SolarSchedule('sunset', 0, -181)).toThrow(/longitude must be a number from -180 to 180/);
    expect(() => new SolarSchedule('sunset', '48' as never, 0)).toThrow(ConfigError);
  });
});

describe('ClockedSchedule', () => {
  const s = new ClockedSchedule('2026-05-01T12:00:00Z');
  it('is due once its time has come, and never again', () => {
    expect(s.isDue(null, at('2026-05-01T11:59:00Z'))).toEqual({ due: false, nextInMs: 60_000 });
    const due = s.isDue(null, at('2026-05-01T12:00:01Z'));
    expect(due).toMatchObject({ due: true, nextInMs: null });
    expect(iso(due.runAt)).toBe('2026-05-01T12:00:00.000Z');
    expect(s.isDue(at('2026-05-01T12:00:00Z'), at('2026-06-01T00:00:00Z'))).toEqual({ due: false, nextInMs: null });
    expect(s.nextRunAfter(at('2026-05-01T12:00:00Z'))).toBeNull();
  });
  it('rejects invalid dates and times without an offset', () => {
    expect(() => new ClockedSchedule(new Date('nope'))).toThrow(ConfigError);
    expect(() => new ClockedSchedule('2026-05-01 12:00')).toThrow(/with an offset/);
  });
});

describe('toSchedule', () => {
  it('accepts the @Periodic shapes, Celery fields and text', () => {
    expect(toSchedule({ every: '5m' })).toBeInstanceOf(IntervalSchedule);
    expect(toSchedule({ every: 300_000 })).toMatchObject({ everyMs: 300_000 });
    expect(toSchedule('30s')).toMatchObject({ everyMs: 30_000 });
    expect(toSchedule({ crontab: '0 3 * * *' }, { timezone: 'Asia/Tokyo' })).toMatchObject({ pattern: '0 3 * * *', timezone: 'Asia/Tokyo' });
    expect(toSchedule({ crontab: '0 3 * * *', timezone: 'Europe/Paris' }, { timezone: 'Asia/Tokyo' })).toMatchObject({ timezone: 'Europe/Paris' });
    expect(toSchedule({ hour: 7, minute: 30, dayOfWeek: 'mon-fri' })).toMatchObject({ pattern: '30 7 * * 1-5', timezone: 'UTC' });
    expect(toSchedule({ crontab: { hour: 7, minute: 30 } })).toMatchObject({ pattern: '30 7 * * *' });
    expect(toSchedule('0 3 * * *')).toBeInstanceOf(CrontabSchedule);
    expect(toSchedule({ solar: 'sunset', lat: 1, lon: 2 })).toBeInstanceOf(SolarSchedule);
    expect(toSchedule({ clocked: new Date('2026-01-01T00:00:00Z') })).toBeInstanceOf(ClockedSchedule);
    const custom = new IntervalSchedule(1000);
    expect(toSchedule(custom)).toBe(custom);
  });
  it('rejects ambiguous or mixed shapes', () => {
    expect(() => toSchedule(30 as never)).toThrow(/bare number is ambiguous.*every: '30s'/);
    expect(() => toSchedule({ every: '5m', crontab: '* * * * *' })).toThrow(/exactly one of/);
    expect(() => toSchedule({})).toThrow(/exactly one of/);
    expect(() => toSchedule({ solar: 'sunset', lat: 1, lon: 2, timezone: 'UTC' } as never)).toThrow(/Unknown key "timezone"/);
    expect(() => toSchedule(null as never)).toThrow(ConfigError);
  });
});
