/**
 * JSON as Python's json module writes it: may contain NaN/Infinity and integers beyond 2^53
 * (celery-wire.md Gotcha 16). The fast path is JSON.parse; lossless-json takes over only when the
 * text has such values, so big integers arrive as BigInt instead of losing precision.
 */
import { isSafeNumber, parse as losslessParse, stringify as losslessStringify } from 'lossless-json';
import { DecodeError, EncodeError } from '../../errors';
import type { Serializer } from './serializer';

const LONG_INTEGER = /\d{16,}/;
const NON_FINITE_MARK = '\u0000celeriac-nonfinite:';

/** Replaces bare NaN/Infinity/-Infinity tokens outside strings with marked strings. */
function markNonFinite(text: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (inString) {
      out += ch;
      if (ch === '\\') out += text[++i] ?? '';
      else if (ch === '"') inString = false;
      continue;
    }
    if (ch === '"') {
      inString = true;
      out += ch;
      continue;
    }
    const rest = text.startsWith('NaN', i) ? 'NaN' : text.startsWith('-Infinity', i) ? '-Infinity' : text.startsWith('Infinity', i) ? 'Infinity' : null;
    if (rest) {
      out += JSON.stringify(NON_FINITE_MARK + rest);
      i += rest.length - 1;
      continue;
    }
    out += ch;
  }
  return out;
}

function parseNumber(value: string): number | bigint {
  if (isSafeNumber(value)) return Number(value);
  return /^-?\d+$/.test(value) ? BigInt(value) : Number(value);
}

function revive(_key: string, value: unknown): unknown {
  if (typeof value === 'string' && value.startsWith(NON_FINITE_MARK)) return Number(value.slice(NON_FINITE_MARK.length));
  return value;
}

/** Decodes JSON text the way a Python peer may have written it. */
export function parseJson(text: string): unknown {
  if (!LONG_INTEGER.test(text)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      // fall through: maybe NaN/Infinity
    }
  }
  try {
    return losslessParse(markNonFinite(text), revive, parseNumber);
  } catch (err) {
    throw new DecodeError(`Invalid JSON: ${(err as Error).message}`, { cause: err });
  }
}

/** A BigInt or a non-finite number anywhere in `value` (own enumerable keys, as JSON.stringify sees them). */
function hasNonJsonValue(value: unknown, depth = 0): boolean {
  // Loops, not Object.values().some(): this runs on every message body and result sent.
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value === 'bigint') return true;
  if (value === null || typeof value !== 'object' || depth > 100 || value instanceof Date) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (hasNonJsonValue(value[i], depth + 1)) return true;
    return false;
  }
  const record = value as Record<string, unknown>;
  for (const key in record) if (Object.prototype.hasOwnProperty.call(record, key) && hasNonJsonValue(record[key], depth + 1)) return true;
  return false;
}

/** Encodes to JSON text; BigInt becomes a plain integer and NaN/Infinity are written as Python does. */
export function stringifyJson(value: unknown): string {
  try {
    if (!hasNonJsonValue(value)) {
      try {
        return JSON.stringify(value);
      } catch (err) {
        // A toJSON() that returns a BigInt is only found here; lossless-json below writes it.
        if (!(err instanceof TypeError) || !/BigInt/i.test(err.message)) throw err;
      }
    }
    return losslessStringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? { __nonFinite: String(v) } : v))!
      .replace(/\{"__nonFinite":"(NaN|Infinity|-Infinity)"\}/g, '$1');
  } catch (err) {
    throw new EncodeError(`Cannot encode as JSON: ${(err as Error).message}`, { cause: err });
  }
}

export const jsonSerializer: Serializer = {
  name: 'json',
  contentType: 'application/json',
  contentEncoding: 'utf-8',
  encode: (value) => Buffer.from(stringifyJson(value), 'utf8'),
  decode: (body) => parseJson(body.toString('utf8')),
};
