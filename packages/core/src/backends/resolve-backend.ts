/** Result backend URL scheme -> implementation. */
import type { CeleriacSettings } from '../app/settings';
import { ConfigError } from '../errors';
import { KeyValueResultBackend } from './key-value-backend';
import { MemoryKeyValueStore } from './memory/memory-key-value-store';
import type { ResultBackend } from './result-backend';
import { RedisResultBackend } from './redis/redis-result-backend';

/** The configured backend, or null when resultBackend is unset (results disabled). */
export function resolveBackend(conf: CeleriacSettings): ResultBackend | null {
  const url = conf.resultBackend;
  if (!url) return null;
  const scheme = url.split(':', 1)[0]!.toLowerCase();
  switch (scheme) {
    case 'memory':
      return new KeyValueResultBackend(new MemoryKeyValueStore(url.slice('memory://'.length) || 'default'), {
        expires: conf.resultExpires,
        serializer: conf.resultSerializer,
        chordOrdered: conf.resultBackendTransportOptions.resultChordOrdered,
      });
    case 'redis':
    case 'rediss':
      return new RedisResultBackend({
        url,
        keyPrefix: conf.resultBackendTransportOptions.globalKeyprefix,
        expires: conf.resultExpires,
        serializer: conf.resultSerializer,
        chordOrdered: conf.resultBackendTransportOptions.resultChordOrdered,
      });
    default:
      throw new ConfigError('resultBackend', `Unsupported result backend URL "${url}": use redis://, rediss:// or memory://.`);
  }
}
