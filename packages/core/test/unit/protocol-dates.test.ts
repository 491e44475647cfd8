import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { DecodeError } from '../../src/errors';
import { formatNaiveUtc, formatWireDate, parseWireDate } from '../../src/protocol/dates';

const PYTHON = '/usr/bin/python3';

describe('formatWireDate', () => {
  it('writes aware UTC with 6 fraction digits, as Python isoformat() does', () => {
    expect(formatWireDate(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)))).toBe('2030-01-02T03:04:05.678000+00:00');
    expect(formatWireDate(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 0)))).toBe('2030-01-02T03:04:05.000000+00:00');
    expect(formatWireDate(new Date(Date.UTC(1999, 11, 31, 23, 59, 59, 1)))).toBe('1999-12-31T23:59:59.001000+00:00');
  });

  it('never writes the 3-digit toISOString form that Celery would read as microseconds', () => {
    const text = formatWireDate(new Date(Date.UTC(2030, 0, 2, 3, 4, 5, 678)));
    expect(text).not.toMatch(/\.\d{3}Z$/);
    expect(text).toMatch(/\.\d{6}\+00:00$/);
  });

  it('refuses an invalid Date', () => {
    expect(() => formatWireDate(new Date(NaN))).toThrow(RangeError);
  });

  it('is read back by Celery 5.2.6 as the same instant (run by /usr/bin/python3)', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: this check needs python3-celery.`);
    const dates = [Date.UTC(2030, 0, 2, 3, 4, 5, 678), Date.UTC(2026, 10, 22, 16, 11, 4, 811), Date.UTC(2000, 1, 29, 0, 0, 0, 0), Date.UTC(2038, 0, 19, 3, 14, 8, 999)];
    const script = [
      'import json, sys',
      'from celery.utils.iso8601 import parse_iso8601',
      'from celery.utils.time import maybe_make_aware',
      'from datetime import datetime, timezone',
      'epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)',
      'out = []',
      'for s in json.load(sys.stdin):',
      '    d = maybe_make_aware(parse_iso8601(s))',
      '    out.append((d - epoch) // __import__("datetime").timedelta(microseconds=1))',
      'print(json.dumps(out))',
    ].join('\n');
    const py = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(dates.map((t) => formatWireDate(new Date(t)))), encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    expect(JSON.parse(py.stdout)).toEqual(dates.map((t) => t * 1000));
  });
});

describe('formatNaiveUtc', () => {
  it('writes naive UTC like datetime.utcnow().isoformat() (result date_done)', () => {
    expect(formatNaiveUtc(new Date(Date.UTC(2026, 10, 22, 15, 57, 21, 22)))).toBe('2026-11-22T15:57:21.022000');
  });
});

describe('parseWireDate', () => {
  const at = (iso: string): number => parseWireDate(iso).getTime();

  it('parses what Python sends: aware UTC with microseconds', () => {
    // 678901 µs is 678.901 ms: the nearest millisecond is 679.
    expect(at('2030-01-02T03:04:05.678901+00:00')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5, 679));
    expect(at('2026-11-22T16:11:04.811323+00:00')).toBe(Date.UTC(2026, 10, 22, 16, 11, 4, 811));
    expect(at('2030-01-02T03:04:05+00:00')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  });

  it('reads a naive date as UTC (protocol 2 is always UTC; Celery does the same)', () => {
    expect(at('2030-01-02T03:04:05')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
    expect(at('2026-11-22T16:11:10.411859')).toBe(Date.UTC(2026, 10, 22, 16, 11, 10, 412));
  });

  it('applies offsets', () => {
    expect(at('2030-01-02T05:04:05+02:00')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
    expect(at('2030-01-01T22:34:05-04:30')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
    expect(at('2030-01-02T05:04:05+0200')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  });

  it('accepts JS toISOString() output at its real instant', () => {
    expect(at('2030-01-02T03:04:05.678Z')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5, 678));
    expect(at('2030-01-02T03:04:05z')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5));
  });

  it('accepts a space separator and minutes-only times', () => {
    expect(at('2030-01-02 03:04:05.5')).toBe(Date.UTC(2030, 0, 2, 3, 4, 5, 500));
    expect(at('2030-01-02T03:04')).toBe(Date.UTC(2030, 0, 2, 3, 4));
  });

  it('round-trips formatWireDate to the millisecond', () => {
    for (const t of [0, Date.UTC(2030, 0, 2, 3, 4, 5, 678), Date.UTC(2099, 11, 31, 23, 59, 59, 999)]) {
      expect(at(formatWireDate(new Date(t)))).toBe(t);
    }
  });

  it('throws DecodeError naming the field for text that is not a date', () => {
    expect(() => parseWireDate('tomorrow', 'eta')).toThrow(DecodeError);
    expect(() => parseWireDate('tomorrow', 'eta')).toThrow(/Invalid eta "tomorrow"/);
    expect(() => parseWireDate('2030-13-45T99:99:99', 'expires')).toThrow(DecodeError);
    expect(() => parseWireDate('', 'eta')).toThrow(DecodeError);
    expect(() => parseWireDate('2030-01-02T03:04:05+00:00 trailing', 'eta')).toThrow(DecodeError);
  });
});

describe('parseWireDate range checks (Python raises ValueError, the task is rejected)', () => {
  it.each(['2030-13-01T00:00:00', '2030-02-30T00:00:00', '2030-01-02T24:00:00', '2030-01-02T03:60:00', '2030-01-02T03:04:61', '2030-01-02T03:04:05+25:00'])(
    'rejects %s instead of rolling it over',
    (text) => {
      expect(() => parseWireDate(text, 'eta')).toThrow(/Invalid eta .*not a real date/);
    },
  );

  it('keeps years below 100 (Date.UTC would map them to 19xx)', () => {
    const d = parseWireDate('0099-01-02T03:04:05+00:00');
    expect(d.getUTCFullYear()).toBe(99);
    expect(formatWireDate(d)).toBe('0099-01-02T03:04:05.000000+00:00');
  });

  it('accepts a leap day', () => {
    expect(parseWireDate('2028-02-29T00:00:00+00:00').getTime()).toBe(Date.UTC(2028, 1, 29));
  });
});
