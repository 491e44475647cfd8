/**
 * Celery's crontab field dialect, turned into the standard cron text that croner parses. Parsing and
 * matching stay croner's; this only rewrites what Celery accepts and standard cron does not
 * (celery/schedules.py crontab_parser):
 * - day-of-week names spelt out or cut anywhere after three letters (`monday`, `tues`, `thurs`);
 * - ranges that wrap around (`fri-mon`, hour `22-2`, with a step: `22-4/2` steps through 22,23,0,...);
 * - numbers and lists of numbers as well as text (`crontab({ minute: 0, hour: [9, 17] })`).
 */
import { ConfigError } from '../../errors';

/** Celery's crontab fields. Each is cron text ('*', '*\/15', '1-5', 'mon-fri'), a number, or a list. */
export interface CrontabFields {
  /** @defaultValue '*' */
  minute?: CrontabField;
  /** @defaultValue '*' */
  hour?: CrontabField;
  /** 0 (or 7) = Sunday, or names: 'sun', 'mon-fri', 'monday'. @defaultValue '*' */
  dayOfWeek?: CrontabField;
  /** 1-31. @defaultValue '*' */
  dayOfMonth?: CrontabField;
  /** 1-12. @defaultValue '*' */
  monthOfYear?: CrontabField;
}
export type CrontabField = string | number | ReadonlyArray<string | number>;

export const CRONTAB_FIELD_NAMES = ['minute', 'hour', 'dayOfMonth', 'monthOfYear', 'dayOfWeek'] as const;
type FieldName = (typeof CRONTAB_FIELD_NAMES)[number];

const BOUNDS: Readonly<Record<FieldName, readonly [min: number, max: number]>> = {
  minute: [0, 59],
  hour: [0, 23],
  dayOfMonth: [1, 31],
  monthOfYear: [1, 12],
  dayOfWeek: [0, 6],
};
const DAYS = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];

function nameToNumber(word: string, field: FieldName): string {
  const names = field === 'dayOfWeek' ? DAYS : field === 'monthOfYear' ? MONTHS : [];
  const lower = word.toLowerCase();
  const index = lower.length >= 3 ? names.findIndex((n) => n.startsWith(lower)) : -1;
  // Croner's own letters (L, W, #) and anything unknown are left for croner to accept or reject.
  if (index === -1) return word;
  return String(field === 'monthOfYear' ? index + 1 : index);
}

function expandWrappingRange(part: string, field: FieldName): string {
  const match = /^(\d+)-(\d+)(?:\/(\d+))?$/.exec(part);
  if (!match) return part;
  const [from, to, step] = [Number(match[1]), Number(match[2]), match[3] === undefined ? 1 : Number(match[3])];
  const [min, max] = BOUNDS[field];
  if (from <= to || from > max || to < min || step < 1) return part;
  const values: number[] = [];
  for (let v = from; v <= max; v++) values.push(v);
  for (let v = min; v <= to; v++) values.push(v);
  return values.filter((_, i) => i % step === 0).join(',');
}

/** One Celery field as standard cron text. */
export function normalizeCrontabField(field: FieldName, value: CrontabField | undefined): string {
  if (value === undefined) return '*';
  const parts = typeof value === 'number' ? [value] : typeof value === 'string' ? [value] : [...value];
  if (!parts.length) throw new ConfigError('crontab', `Invalid crontab field ${field}: an empty list matches nothing.`);
  const out: string[] = [];
  for (const part of parts) {
    if (typeof part === 'number') {
      if (!Number.isInteger(part)) throw new ConfigError('crontab', `Invalid crontab field ${field}: ${part} is not an integer.`);
      out.push(String(part));
      continue;
    }
    if (typeof part !== 'string' || !part.trim() || /\s/.test(part.trim())) {
      throw new ConfigError('crontab', `Invalid crontab field ${field}: expected cron text such as '*', '*/15', '1-5' or a number, got ${JSON.stringify(part)}.`);
    }
    const text = part.trim().replace(/[a-z]+/gi, (word) => nameToNumber(word, field));
    out.push(...text.split(',').map((p) => expandWrappingRange(p, field)));
  }
  return out.join(',');
}

/** Fields as the five-field cron text `minute hour day-of-month month day-of-week`. */
export function crontabFieldsToText(fields: CrontabFields): string {
  const unknown = Object.keys(fields).filter((k) => !(CRONTAB_FIELD_NAMES as readonly string[]).includes(k));
  if (unknown.length) throw new ConfigError('crontab', `Unknown crontab field "${unknown[0]}": use ${CRONTAB_FIELD_NAMES.join(', ')}.`);
  return CRONTAB_FIELD_NAMES.map((name) => normalizeCrontabField(name, fields[name])).join(' ');
}

/** A five-field cron string in Celery's dialect as standard cron text (nicknames such as @daily kept). */
export function normalizeCrontabText(text: string): string {
  const trimmed = text.trim();
  if (trimmed.startsWith('@')) return trimmed;
  const parts = trimmed.split(/\s+/);
  if (parts.length !== 5) {
    throw new ConfigError('crontab', `Invalid crontab "${text}": expected five fields "minute hour day-of-month month day-of-week", got ${parts.length}.`);
  }
  return CRONTAB_FIELD_NAMES.map((name, i) => normalizeCrontabField(name, parts[i])).join(' ');
}
