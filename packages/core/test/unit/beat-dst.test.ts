/**
 * Crontab schedules across daylight saving changes, in Europe/Paris and America/New_York (2026):
 *
 * ```text
 * Paris     spring forward 29 Mar 02:00 CET -> 03:00 CEST (01:00Z)   fall back 25 Oct 03:00 CEST -> 02:00 CET (01:00Z)
 * New York  spring forward  8 Mar 02:00 EST -> 03:00 EDT (07:00Z)   fall back  1 Nov 02:00 EDT -> 01:00 EST (06:00Z)
 * ```
 * Each case walks a fake clock minute by minute through the day, as beat's loop would, feeding each
 * run's scheduled time back as lastRunAt, and lists the runs sent.
 */
import { CrontabSchedule, type Schedule } from '../../src';

/** Runs a schedule would send between two instants, checked every `stepMs`. */
function simulate(schedule: Schedule, fromIso: string, toIso: string, stepMs = 60_000): string[] {
  const runs: string[] = [];
  let last = new Date(fromIso);
  for (let t = last.getTime(); t <= Date.parse(toIso); t += stepMs) {
    const due = schedule.isDue(last, new Date(t));
    if (due.due) {
      runs.push(due.runAt!.toISOString());
      last = due.runAt!;
    }
  }
  return runs;
}

/** Local wall-clock time of an instant, for readable expectations. */
function local(isoTime: string, timeZone: string): string {
  return new Intl.DateTimeFormat('sv-SE', { timeZone, dateStyle: 'short', timeStyle: 'short' }).format(new Date(isoTime)) + ' ' +
    (new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'short' }).formatToParts(new Date(isoTime)).find((p) => p.type === 'timeZoneName')?.value ?? '');
}

describe.each([
  // springDay / fallDay: local midnight to local midnight of the changing day (23 h and 25 h long).
  { zone: 'Europe/Paris', springFrom: '2026-03-27T23:00:00Z', fallFrom: '2026-10-23T22:00:00Z', springDay: ['2026-03-28T23:00:00Z', '2026-03-29T22:00:00Z'], fallDay: ['2026-10-24T22:00:00Z', '2026-10-25T23:00:00Z'], repeated: '02' },
  { zone: 'America/New_York', springFrom: '2026-03-07T05:00:00Z', fallFrom: '2026-10-31T04:00:00Z', springDay: ['2026-03-08T05:00:00Z', '2026-03-09T04:00:00Z'], fallDay: ['2026-11-01T04:00:00Z', '2026-11-02T05:00:00Z'], repeated: '01' },
])('crontab in $zone', ({ zone, springFrom, fallFrom, springDay, fallDay, repeated }) => {
  const localDay = ([start, end]: string[]): [string, string] => [new Date(Date.parse(start!) - 1).toISOString(), new Date(Date.parse(end!) - 1).toISOString()];
  const hours = (runs: string[]): string[] => runs.map((r) => local(r, zone).slice(11, 13));
  const days = (fromIso: string, n: number): string => new Date(Date.parse(fromIso) + n * 86_400_000).toISOString();

  it('runs a 02:30 daily job once on the spring-forward day, at 03:00 (02:30 does not exist)', () => {
    const runs = simulate(new CrontabSchedule('30 2 * * *', zone), springFrom, days(springFrom, 3), 300_000).map((r) => local(r, zone));
    expect(runs).toHaveLength(3);
    expect(runs[0]).toMatch(/ 02:30 (GMT\+1|EST)$/);
    expect(runs[1]).toMatch(/ 03:00 (GMT\+2|EDT)$/);
    expect(runs[2]).toMatch(/ 02:30 (GMT\+2|EDT)$/);
  });

  it('runs a 01:30 daily job once a day through fall-back (01:30 happens twice in New York)', () => {
    const runs = simulate(new CrontabSchedule('30 1 * * *', zone), fallFrom, days(fallFrom, 3), 300_000).map((r) => local(r, zone));
    expect(runs).toHaveLength(3);
    expect(runs.map((r) => r.slice(11, 16))).toEqual(['01:30', '01:30', '01:30']);
  });

  it('runs a 02:30 daily job once a day through fall-back (02:30 happens twice in Paris)', () => {
    const runs = simulate(new CrontabSchedule('30 2 * * *', zone), fallFrom, days(fallFrom, 3), 300_000);
    expect(runs).toHaveLength(3);
    expect(runs.map((r) => local(r, zone).slice(11, 16))).toEqual(['02:30', '02:30', '02:30']);
  });

  it('runs an hourly job every real hour across spring-forward: 23 runs that day, 02:00 skipped', () => {
    const runs = simulate(new CrontabSchedule('0 * * * *', zone), ...localDay(springDay));
    expect(runs).toHaveLength(23);
    expect(hours(runs)).not.toContain('02');
    expect(new Set(hours(runs)).size).toBe(23);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i]!) - Date.parse(runs[i - 1]!)).toBe(3_600_000);
  });

  it('runs an hourly job every real hour across fall-back: 25 runs that day, the repeated hour twice', () => {
    const runs = simulate(new CrontabSchedule('0 * * * *', zone), ...localDay(fallDay));
    expect(runs).toHaveLength(25);
    expect(hours(runs).filter((h) => h === repeated)).toHaveLength(2);
    for (let i = 1; i < runs.length; i++) expect(Date.parse(runs[i]!) - Date.parse(runs[i - 1]!)).toBe(3_600_000);
  });
});

describe('crontab across a restart in the repeated hour', () => {
  it('does not run 01:30 again after a restart between its two occurrences (New York, 1 Nov 2026)', () => {
    const s = new CrontabSchedule('30 1 * * *', 'America/New_York');
    const firstRun = new Date('2026-11-01T05:30:00Z'); // 01:30 EDT
    // Beat restarts at 01:45 EST, after the second 01:30 (06:30Z) went by.
    const due = s.isDue(firstRun, new Date('2026-11-01T06:45:00Z'));
    expect(due.due).toBe(false);
    expect(new Date(Date.parse('2026-11-01T06:45:00Z') + due.nextInMs!).toISOString()).toBe('2026-11-02T06:30:00.000Z');
  });

  it('uses the app time zone for the wall clock, so 09:00 stays 09:00 local in summer and winter', () => {
    const s = new CrontabSchedule('0 9 * * *', 'Europe/Paris');
    expect(s.nextRunAfter(new Date('2026-03-28T12:00:00Z'))!.toISOString()).toBe('2026-03-29T07:00:00.000Z');
    expect(s.nextRunAfter(new Date('2026-03-27T12:00:00Z'))!.toISOString()).toBe('2026-03-28T08:00:00.000Z');
  });
});
