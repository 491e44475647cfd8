/** Schedules in words and JSON that stays inert in HTML. */
import { describeCron, describeSchedule, safeJson, toHttpReply } from '../../src/admin';

describe('describeSchedule', () => {
  it('says intervals in their period', () => {
    expect(describeSchedule({ kind: 'interval', every: 1, period: 'hours' })).toBe('every hour');
    expect(describeSchedule({ kind: 'interval', every: 15, period: 'seconds' })).toBe('every 15 seconds');
  });

  it('reads crontabs with cronstrue in the 24-hour clock, with the time zone', () => {
    expect(describeSchedule({ kind: 'crontab', minute: '0', hour: '3', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'Europe/Paris' })).toBe('At 03:00 (Europe/Paris)');
    expect(describeSchedule({ kind: 'crontab', minute: '*/15', hour: '*', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: '*', timezone: 'UTC' })).toBe('Every 15 minutes (UTC)');
  });

  it("reads Celery's dialect (wrapping ranges, day names) through core's standard cron text", () => {
    expect(describeSchedule({ kind: 'crontab', minute: '0', hour: '9', dayOfMonth: '*', monthOfYear: '*', dayOfWeek: 'fri-mon', timezone: 'UTC' })).toBe('At 09:00, only on Sunday, Monday, Friday, and Saturday (UTC)');
  });

  it('reads day-of-month and day-of-week together, as Celery does', () => {
    expect(describeCron('0 0 13 * 5')).toBe('At 00:00, on day 13 of the month, only on Friday');
  });

  it('falls back to the cron text itself', () => {
    expect(describeCron('not a cron')).toBe('cron not a cron');
  });

  it('says solar events with their place and clocked times in UTC', () => {
    expect(describeSchedule({ kind: 'solar', event: 'dusk_civil', latitude: -33.8688, longitude: 151.2093 })).toBe('civil dusk at 33.8688°S 151.2093°E');
    expect(describeSchedule({ kind: 'clocked', clockedTime: '2030-06-01T08:30:00.000Z' })).toBe('once at 2030-06-01 08:30 UTC');
  });
});

describe('safeJson and toHttpReply', () => {
  it('escapes characters that could end a script or open a tag', () => {
    const text = safeJson({ html: '</script><b>&</b>', line: '\u2028' });
    expect(text).not.toMatch(/[<>&\u2028]/);
    expect(JSON.parse(text)).toEqual({ html: '</script><b>&</b>', line: '\u2028' });
  });

  it('sends JSON with security headers, HTML as given, and no body for 204', () => {
    expect(toHttpReply({ status: 200, body: { a: 1 } })).toEqual({ status: 200, headers: expect.objectContaining({ 'content-type': 'application/json; charset=utf-8', 'x-frame-options': 'DENY' }), body: '{"a":1}' });
    expect(toHttpReply({ status: 200, body: '<p>x</p>', contentType: 'text/html; charset=utf-8' }).body).toBe('<p>x</p>');
    expect(toHttpReply({ status: 204, headers: { 'X-Extra': '1' } })).toMatchObject({ body: undefined, headers: { 'x-extra': '1' } });
  });
});
