/**
 * AMQP field tables (message headers, queue arguments) typed as py-amqp writes and reads them
 * (celery-wire.md §4.2, Gotcha 2).
 *
 * amqplib picks an integer's tag by its size: -128..127 -> `b`, up to 32767 -> `s` (int16). py-amqp
 * (amqp/serialization.py `_read_item`) reads `s` as a *short string* and `b` as unsigned, so a header
 * such as `timelimit: [300, 200]` corrupts the whole table for a Python worker, which then drops the
 * connection and gets the message again forever. We type every value explicitly, recursively:
 * integers as `I` (int32) or `l` (int64) outside ±2^31, other numbers as `d` (double), strings `S`,
 * booleans `t`, null `V`, arrays `A`, objects `F`: exactly the tags py-amqp writes (it writes `L` for
 * int64, which amqplib cannot read; `l` is what amqplib writes and py-amqp reads).
 *
 * Decoding turns amqplib's typed values back into plain JSON-like values: `x` byte arrays become
 * strings (UTF-8), timestamps (`T`) ISO-8601 strings, decimals (`D`) numbers.
 */
import { EncodeError } from '../../errors';

/** amqplib's explicit-type form `{'!': type, value}`. */
interface Typed {
  '!': string;
  value: unknown;
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/** One value in the tagged form amqplib writes as-is. */
export function encodeFieldValue(value: unknown, path = 'headers'): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw new EncodeError(`${path} is ${value}: AMQP headers cannot carry NaN or Infinity.`);
      if (!Number.isInteger(value)) return { '!': 'double', value };
      if (value >= INT32_MIN && value <= INT32_MAX) return { '!': 'int32', value };
      if (Number.isSafeInteger(value)) return { '!': 'int64', value };
      return { '!': 'double', value }; // beyond 2^53 a double is what we actually hold
    case 'bigint':
      return { '!': 'int64', value };
    case 'undefined':
      return null;
    case 'object': {
      if (value === null) return null;
      if (Buffer.isBuffer(value)) return value;
      if (value instanceof Date) return value.toISOString();
      if (Array.isArray(value)) return value.map((v, i) => encodeFieldValue(v, `${path}[${i}]`));
      const out: Record<string, unknown> = {};
      // A key '!' would be taken by amqplib for its type marker: the table is nested one level
      // further, so that key cannot survive; refuse rather than corrupt.
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (k === '!') throw new EncodeError(`${path} has a key "!", which amqplib cannot encode in an AMQP field table.`);
        if (v !== undefined) out[k] = encodeFieldValue(v, `${path}.${k}`);
      }
      return out;
    }
    case 'function':
    case 'symbol':
      throw new EncodeError(`${path} is a ${typeof value}, which cannot be sent in AMQP headers.`);
  }
}

/** A header table with every value typed as py-amqp expects (see the file header). */
export function encodeHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return encodeFieldValue(headers) as Record<string, unknown>;
}

/**
 * A header table as amqplib decoded it, back to plain values. In place: amqplib builds the table for
 * this one message, and a Celery message's headers are mostly strings and numbers, which stay as
 * they are (no copy of the table per delivery).
 */
export function decodeHeaders(headers: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!headers) return {};
  return decodeFieldValue(headers) as Record<string, unknown>;
}

function decodeFieldValue(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (v !== null && typeof v === 'object') value[i] = decodeFieldValue(v);
    }
    return value;
  }
  if (isTyped(value)) {
    if (value['!'] === 'timestamp') return new Date(Number(value.value) * 1000).toISOString();
    if (value['!'] === 'decimal') {
      const { places, digits } = value.value as { places: number; digits: number };
      return digits / 10 ** places;
    }
    return decodeFieldValue(value.value);
  }
  const table = value as Record<string, unknown>;
  for (const k in table) {
    // own keys only: a header named __proto__ sets the prototype of amqplib's table
    if (!Object.prototype.hasOwnProperty.call(table, k)) continue;
    const v = table[k];
    if (v !== null && typeof v === 'object') table[k] = decodeFieldValue(v);
  }
  return table;
}

function isTyped(value: object): value is Typed {
  return Object.prototype.hasOwnProperty.call(value, '!') && Object.prototype.hasOwnProperty.call(value, 'value');
}

/** Queue arguments (`x-max-priority`, `x-expires`, ...): integers as `I`, as Kombu declares them. */
export function encodeArguments(args: Record<string, number | string>): Record<string, unknown> {
  return encodeHeaders(args);
}
