/** Schedules as stored rows: core ScheduleSpec ↔ ScheduleInput, and when a row's next run is due. */
import { ConfigError, CrontabSchedule, IntervalSchedule } from '@celeriac/core';
import { inputToSchedule, rowScheduleInput, scheduleOf, toScheduleInput } from '../../src/schedules/schedule-input';
import { nextRunAt, upcomingRuns, type NextRunRow } from '../../src/schedules/next-run';

const row = (over: Partial<NextRunRow> = {}): NextRunRow => ({ lastRunAt: null, startTime: null, expires: null, oneOff: false, totalRunCount: 0, ...over });
const at = (iso: string) => new Date(iso);

describe('toScheduleInput', () => {
  it('turns the shapes @Periodic and beatSchedule take into stored rows', () => {
    expect(toScheduleInput({ every: '5m' })).toEqual({ kind: 'interval', every: 5, period: 'minutes' });
    expect(toScheduleInput({ every: 90_000 })).toEqual({ kind: 'interval', every: 90, period: 'seconds' });
    expect(toScheduleInput({ every: '1d' })).toEqual({ kind: 'interval', every: 1, period: 'days' });
    expect(toScheduleInput({ every: 1500 })).toEqual({ kind: 'interval', every: 1_500_000, period: 'microseconds' });
    expect(toScheduleInput({ crontab: '30 2 * * mon-fri', timezone: 'Europe/Paris' })).toMatchObject({ kind: 'crontab', minute: '30', hour: '2', dayOfMonth: '*', monthOfYear: '*', timezone: 'Europe/Paris' });
    expect(toScheduleInput({ hour: 3, minute: 0 }, 'America/New_York')).toMatchObject({ kind: 'crontab', minute: '0', hour: '3', timezone: 'America/New_York' });
    expect(toScheduleInput({ solar: 'sunset', lat: 48.85, lon: 2.35 })).toEqual({ kind: 'solar', event: 'sunset', latitude: 48.85, longitude: 2.35 });
    expect(toScheduleInput({ clocked: '2026-12-31T23:00:00Z' })).toEqual({ kind: 'clocked', clockedTime: '2026-12-31T23:00:00.000Z' });
  });

  it('refuses a bad schedule with a ConfigError', () => {
    expect(() => toScheduleInput({ crontab: '61 * * * *' })).toThrow(ConfigError);
  });

  it('round-trips: the input of a spec describes the same runs', () => {
    const spec = { crontab: '15 */6 * * 1-5', timezone: 'Asia/Tokyo' };
    const from = at('2026-03-02T00:00:00Z');
    expect(upcomingRuns(inputToSchedule(toScheduleInput(spec)), from, 5)).toEqual(upcomingRuns(new CrontabSchedule(spec.crontab, spec.timezone), from, 5));
  });
});

describe('rowScheduleInput / scheduleOf', () => {
  it('reads the one schedule relation a row has', () => {
    const interval = { id: 1, every: 10, period: 'seconds' as const };
    expect(rowScheduleInput({ interval, crontab: null, solar: null, clocked: null })).toEqual({ kind: 'interval', every: 10, period: 'seconds' });
    expect(scheduleOf({ name: 'x', interval, crontab: null, solar: null, clocked: null })).toBeInstanceOf(IntervalSchedule);
  });

  it('names the row that has no schedule', () => {
    expect(() => scheduleOf({ name: 'orphan', interval: null, crontab: null, solar: null, clocked: null })).toThrow(/"orphan" has no schedule/);
  });

  it('refuses a crontab row with bad text (written by raw SQL)', () => {
    const crontab = { id: 1, minute: '99', hour: '*', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'UTC' };
    expect(() => scheduleOf({ name: 'bad', interval: null, crontab, solar: null, clocked: null })).toThrow(ConfigError);
  });
});

describe('nextRunAt', () => {
  const now = at('2026-06-01T12:00:00Z');
  const every10m = new IntervalSchedule('10m');
  const daily3am = new CrontabSchedule('0 3 * * *', 'Europe/Paris');

  it('counts an interval from the last run, even when that is in the past (beat was down)', () => {
    expect(nextRunAt(every10m, row({ lastRunAt: at('2026-06-01T11:55:00Z') }), now)).toEqual(at('2026-06-01T12:05:00Z'));
    expect(nextRunAt(every10m, row({ lastRunAt: at('2026-06-01T09:00:00Z') }), now)).toEqual(at('2026-06-01T09:10:00Z'));
  });

  it('starts a never-run interval one period from now, or at its start time', () => {
    expect(nextRunAt(every10m, row(), now)).toEqual(at('2026-06-01T12:10:00Z'));
    expect(nextRunAt(every10m, row({ startTime: at('2026-06-02T08:00:00Z') }), now)).toEqual(at('2026-06-02T08:00:00Z'));
  });

  it('takes a crontab time in its own zone, not before the start time', () => {
    expect(nextRunAt(daily3am, row(), now)).toEqual(at('2026-06-02T01:00:00Z')); // 03:00 CEST
    expect(nextRunAt(daily3am, row({ startTime: at('2026-06-10T00:00:00Z') }), now)).toEqual(at('2026-06-10T01:00:00Z'));
  });

  it('has no next run after expiry, or for a one-off that ran', () => {
    expect(nextRunAt(every10m, row({ expires: at('2026-06-01T12:05:00Z') }), now)).toBeNull();
    expect(nextRunAt(every10m, row({ oneOff: true, lastRunAt: at('2026-06-01T11:00:00Z'), totalRunCount: 1 }), now)).toBeNull();
    expect(nextRunAt(every10m, row({ oneOff: true }), now)).toEqual(at('2026-06-01T12:10:00Z'));
  });

  it('runs a clocked schedule once at its time, even when that time has passed', () => {
    const clocked = inputToSchedule({ kind: 'clocked', clockedTime: '2026-06-01T11:00:00Z' });
    expect(nextRunAt(clocked, row(), now)).toEqual(at('2026-06-01T11:00:00Z'));
    expect(nextRunAt(clocked, row({ lastRunAt: at('2026-06-01T11:00:00Z'), totalRunCount: 1 }), now)).toBeNull();
    const movedLater = inputToSchedule({ kind: 'clocked', clockedTime: '2026-06-02T09:00:00Z' });
    expect(nextRunAt(movedLater, row({ lastRunAt: at('2026-06-01T11:00:00Z'), totalRunCount: 1 }), now)).toEqual(at('2026-06-02T09:00:00Z'));
  });
});

describe('upcomingRuns', () => {
  it('lists the next runs across a DST change in the schedule zone', () => {
    const runs = upcomingRuns(new CrontabSchedule('30 2 * * *', 'Europe/Paris'), at('2026-03-27T12:00:00Z'), 3);
    // 28 March 02:30 CET; 29 March has no 02:30 (spring forward): the first valid time, 03:00 CEST; then 02:30 CEST.
    expect(runs.map((d) => d.toISOString())).toEqual(['2026-03-28T01:30:00.000Z', '2026-03-29T01:00:00.000Z', '2026-03-30T00:30:00.000Z']);
  });

  it('stops at expiry and after a one-off', () => {
    expect(upcomingRuns(new IntervalSchedule('1h'), at('2026-01-01T00:00:00Z'), 5, at('2026-01-01T02:30:00Z'))).toHaveLength(2);
    expect(upcomingRuns(inputToSchedule({ kind: 'clocked', clockedTime: '2026-01-05T00:00:00Z' }), at('2026-01-01T00:00:00Z'), 5)).toEqual([at('2026-01-05T00:00:00Z')]);
  });
});
