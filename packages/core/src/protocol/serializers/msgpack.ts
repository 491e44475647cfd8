/** msgpack as Kombu registers it: content type application/x-msgpack, encoding binary. */
import { decode, encode } from '@msgpack/msgpack';
import { DecodeError, EncodeError } from '../../errors';
import type { Serializer } from './serializer';

export const msgpackSerializer: Serializer = {
  name: 'msgpack',
  contentType: 'application/x-msgpack',
  contentEncoding: 'binary',
  encode(value) {
    try {
      checkBigIntRange(value);
      const bytes = encode(value, { useBigInt64: true, ignoreUndefined: false });
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    } catch (err) {
      throw new EncodeError(`Cannot encode as msgpack: ${(err as Error).message}`, { cause: err });
    }
  },
  decode(body) {
    try {
      const value = decode(body, { useBigInt64: true });
      return normalizeBigInts(value);
    } catch (err) {
      throw new DecodeError(`Invalid msgpack body: ${(err as Error).message}`, { cause: err });
    }
  },
};

/** msgpack's int64 decoding gives BigInt for every 64-bit int; keep safe ones as numbers. */
function normalizeBigInts(value: unknown): unknown {
  if (typeof value === 'bigint') {
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }
  if (Array.isArray(value)) return value.map(normalizeBigInts);
  if (value && typeof value === 'object' && !(value instanceof Uint8Array) && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = normalizeBigInts(v);
    return out;
  }
  return value;
}

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/** msgpack ints are 64-bit; @msgpack/msgpack would silently wrap a larger BigInt (2n ** 70n is written as 0). */
function checkBigIntRange(value: unknown, depth = 0): void {
  if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > UINT64_MAX) throw new RangeError(`integer ${value} does not fit in 64 bits`);
    return;
  }
  if (depth > 100 || !value || typeof value !== 'object' || value instanceof Uint8Array || value instanceof Date) return;
  for (const v of Array.isArray(value) ? value : Object.values(value)) checkBigIntRange(v, depth + 1);
}
