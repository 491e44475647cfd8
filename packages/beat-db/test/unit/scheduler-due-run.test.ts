/**
 * Which run a due row sends (the latest scheduled time at or before now, on the grid its next_run_at
 * starts, capped by expiry), and the options its message goes out with.
 */
import { ClockedSchedule, CrontabSchedule, IntervalSchedule, SolarSchedule } from '@celeriac/core';
import { dueRun, sendOptions, type SendColumns } from '../../src/scheduler';

const at = (iso: string) => new Date(iso);
const iso = (run: { runAt: Date; missedSince?: Date } | null) => run && { runAt: run.runAt.toISOString(), ...(run.missedSince ? { missedSince: run.missedSince.toISOString() } : {}) };

describe('dueRun', () => {
  const every10s = new IntervalSchedule('10s');

  it('sends next_run_at itself when it has just come', () => {
    expect(iso(dueRun(every10s, at('2026-01-01T10:00:10Z'), at('2026-01-01T10:00:10.250Z'), null))).toEqual({ runAt: '2026-01-01T10:00:10.000Z' });
    expect(iso(dueRun(every10s, at('2026-01-01T10:00:10Z'), at('2026-01-01T10:00:10Z'), null))).toEqual({ runAt: '2026-01-01T10:00:10.000Z' });
  });

  it('keeps an interval on the grid next_run_at starts (a start time gives it its phase)', () => {
    expect(iso(dueRun(every10s, at('2026-01-01T10:00:03Z'), at('2026-01-01T10:00:45Z'), null))).toEqual({ runAt: '2026-01-01T10:00:43.000Z', missedSince: '2026-01-01T10:00:03.000Z' });
  });

  it('gives the latest crontab time at or before now, and the first missed one', () => {
    const hourly = new CrontabSchedule('0 * * * *', 'UTC');
    expect(iso(dueRun(hourly, at('2026-01-01T11:00:00Z'), at('2026-01-01T11:00:00.500Z'), null))).toEqual({ runAt: '2026-01-01T11:00:00.000Z' });
    expect(iso(dueRun(hourly, at('2026-01-01T11:00:00Z'), at('2026-01-01T13:20:00Z'), null))).toEqual({ runAt: '2026-01-01T13:00:00.000Z', missedSince: '2026-01-01T11:00:00.000Z' });
  });

  it('reads crontab fields in their time zone', () => {
    const paris = new CrontabSchedule('0 3 * * *', 'Europe/Paris');
    expect(iso(dueRun(paris, at('2026-01-01T02:00:00Z'), at('2026-01-03T12:00:00Z'), null))).toEqual({ runAt: '2026-01-03T02:00:00.000Z', missedSince: '2026-01-01T02:00:00.000Z' });
  });

  it('sends a clocked time once it has come, however late', () => {
    const clocked = new ClockedSchedule('2026-01-01T10:05:00Z');
    expect(iso(dueRun(clocked, clocked.at, at('2026-01-02T00:00:00Z'), null))).toEqual({ runAt: '2026-01-01T10:05:00.000Z' });
  });

  it('never picks a run after the row expired, and none when next_run_at is past it', () => {
    const expires = at('2026-01-01T10:00:35Z');
    expect(iso(dueRun(every10s, at('2026-01-01T10:00:10Z'), at('2026-01-01T10:05:00Z'), expires))).toEqual({ runAt: '2026-01-01T10:00:30.000Z', missedSince: '2026-01-01T10:00:10.000Z' });
    expect(dueRun(every10s, at('2026-01-01T10:00:40Z'), at('2026-01-01T10:05:00Z'), expires)).toBeNull();
  });

  it('takes a next_run_at off the schedule grid (written by hand) as the run asked for', () => {
    const hourly = new CrontabSchedule('0 * * * *', 'UTC');
    expect(iso(dueRun(hourly, at('2026-01-01T10:17:00Z'), at('2026-01-01T10:20:00Z'), null))).toEqual({ runAt: '2026-01-01T10:17:00.000Z' });
  });

  it('handles solar events like crontab times', () => {
    const sunrise = new SolarSchedule('sunrise', 48.85, 2.35);
    const first = sunrise.nextRunAfter(at('2026-06-01T00:00:00Z'))!;
    const run = dueRun(sunrise, first, new Date(first.getTime() + 60_000), null);
    expect(run?.runAt.toISOString()).toBe(first.toISOString());
  });
});

describe('sendOptions', () => {
  const bare: SendColumns = { queue: null, exchange: null, routingKey: null, priority: null, headers: {}, expireSeconds: null, expires: null };

  it('sends only the task id when the row sets no routing', () => {
    expect(sendOptions(bare, 'id-1')).toEqual({ taskId: 'id-1' });
  });

  it("maps the row's routing, priority 0, headers and message expiry", () => {
    expect(sendOptions({ queue: 'q', exchange: 'ex', routingKey: 'rk', priority: 0, headers: { a: 1 }, expireSeconds: 30, expires: at('2027-01-01T00:00:00Z') }, 'id-2')).toEqual({
      taskId: 'id-2', queue: 'q', exchange: 'ex', routingKey: 'rk', priority: 0, headers: { a: 1 }, expires: 30,
    });
    expect(sendOptions({ ...bare, expires: at('2027-01-01T00:00:00Z') }, 'id-3')).toEqual({ taskId: 'id-3', expires: at('2027-01-01T00:00:00Z') });
  });
});
