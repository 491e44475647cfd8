/**
 * Dates on the wire. Celery sends `datetime.isoformat()` of aware UTC times with 6 fraction digits
 * (`2030-01-02T03:04:05.678901+00:00`); its worker reads the fraction as whole microseconds, so JS's
 * `toISOString()` (3 digits) would land up to 1 s early (celery-wire.md §2.4, Gotcha 3).
 */
import { DecodeError } from '../errors';

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

function base(date: Date): string {
  return (
    `${pad(date.getUTCFullYear(), 4)}-${pad(date.getUTCMonth() + 1)}-${pad(date.getUTCDate())}` +
    `T${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())}`
  );
}

/** `2030-01-02T03:04:05.678000+00:00`: what eta/expires headers carry. */
export function formatWireDate(date: Date): string {
  if (Number.isNaN(date.getTime())) throw new RangeError('Invalid Date');
  return `${base(date)}.${pad(date.getUTCMilliseconds() * 1000, 6)}+00:00`;
}

/** Naive UTC with 6 digits, as Python's `datetime.utcnow().isoformat()` in a result's date_done. */
export function formatNaiveUtc(date: Date): string {
  return `${base(date)}.${pad(date.getUTCMilliseconds() * 1000, 6)}`;
}

const ISO = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parses an ISO-8601 date from a message. No offset means UTC (protocol 2 is always UTC).
 * Throws DecodeError for anything else, so the message is rejected with a clear reason.
 */
export function parseWireDate(text: string, field = 'date'): Date {
  const m = ISO.exec(text.trim());
  if (!m) throw new DecodeError(`Invalid ${field} "${text}": expected ISO-8601 like 2030-01-02T03:04:05.678901+00:00.`);
  const [, y, mo, d, h, mi, s, frac, tz] = m;
  const notReal = (): never => {
    throw new DecodeError(`Invalid ${field} "${text}": not a real date.`);
  };
  const parts = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0)] as const;
  // Date.UTC silently rolls month 13 or hour 25 over (and maps years 0-99 to 19xx); Python raises instead.
  const civil = new Date(0);
  civil.setUTCFullYear(parts[0], parts[1], parts[2]);
  civil.setUTCHours(parts[3], parts[4], parts[5], 0);
  const back = [civil.getUTCFullYear(), civil.getUTCMonth(), civil.getUTCDate(), civil.getUTCHours(), civil.getUTCMinutes(), civil.getUTCSeconds()];
  if (back.some((v, i) => v !== parts[i])) notReal();
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  let t = civil.getTime() + ms;
  if (tz && tz.toUpperCase() !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    const digits = tz.slice(1).replace(':', '');
    const [oh, om] = [Number(digits.slice(0, 2)), Number(digits.slice(2, 4))];
    if (oh > 23 || om > 59) notReal();
    t -= sign * (oh * 60 + om) * 60_000;
  }
  const date = new Date(t);
  if (Number.isNaN(date.getTime())) notReal();
  return date;
}
