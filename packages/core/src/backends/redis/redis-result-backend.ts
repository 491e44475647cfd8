/**
 * Redis result backend, wire-compatible with Celery's (celery/backends/redis.py RedisBackend).
 *
 * Features:
 * - results under `celery-task-meta-<id>` (groups `celery-taskset-meta-<id>`), JSON documents in
 *   Python's key order, written with SET EX `expires` + PUBLISH on the key's channel in one step
 *   (celery-wire.md §5.1); a stored SUCCESS is never overwritten (Celery's dedup protection);
 * - `waitFor` subscribes to the key's channel, then GETs once, so a result stored in between is
 *   not missed; every waiter shares one subscriber connection;
 * - exceptions as `{exc_type, exc_message, exc_module}` (§5.2), readable by Python's AsyncResult.
 *
 * URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://...` for TLS.
 *
 * Options:
 * - `url`: the Redis URL above;
 * - `keyPrefix`: Celery's `result_backend_transport_options.global_keyprefix` (Celery >= 5.3), on
 *   keys and channels. As Celery does, `_` is appended unless it ends in one of `: _ - .`;
 *   Celery 5.2 has no result key prefix, so leave it unset to share results with 5.2;
 * - `expires`: seconds a result lives (`result_expires`), 0 = forever (plain SET). Default 86400;
 * - `serializer`: `json` (default) or `msgpack` (`result_serializer`).
 *
 * @example
 * const backend = new RedisResultBackend({ url: 'redis://localhost:6379/0', expires: 3600 });
 * await backend.connect();
 * const meta = await backend.waitFor(taskId, { timeoutMs: 10_000 });
 */
import { ConfigError } from '../../errors';
import { KeyValueResultBackend, type KeyValueResultBackendOptions } from '../key-value-backend';
import { RedisKeyValueStore } from './redis-key-value-store';

/** Options of RedisResultBackend. */
export interface RedisResultBackendOptions extends KeyValueResultBackendOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://...` (TLS). */
  url: string;
  /**
   * Celery's `global_keyprefix` for results: prepended to keys and channels.
   * @defaultValue '' (no prefix, as Celery 5.2)
   */
  keyPrefix?: string;
}

/** Celery (celery/backends/base.py `_add_global_keyprefix`) joins a bare prefix with `_`. */
export function resultKeyPrefix(globalKeyprefix: string | undefined): string {
  if (!globalKeyprefix) return '';
  return ':_-.'.includes(globalKeyprefix.slice(-1)) ? globalKeyprefix : `${globalKeyprefix}_`;
}

/** Results in Redis, as Celery's Redis backend stores them. See the file header. */
export class RedisResultBackend extends KeyValueResultBackend {
  constructor(options: RedisResultBackendOptions) {
    if (options.expires !== undefined && !(Number.isFinite(options.expires) && options.expires >= 0)) {
      throw new ConfigError('expires', `Result expires must be a number of seconds >= 0 (0 keeps results forever), got ${String(options.expires)}.`);
    }
    super(new RedisKeyValueStore({ url: options.url, keyPrefix: resultKeyPrefix(options.keyPrefix) }), {
      expires: options.expires,
      serializer: options.serializer,
      chordOrdered: options.chordOrdered,
    });
  }
}
