/** Result backend URL scheme -> implementation. */
import { randomUUID } from 'node:crypto';
import type { CeleriacSettings } from '../app/settings';
import { ConfigError } from '../errors';
import { KeyValueResultBackend } from './key-value-backend';
import { MemoryKeyValueStore } from './memory/memory-key-value-store';
import type { ResultBackend } from './result-backend';
import { RedisResultBackend } from './redis/redis-result-backend';
import { RpcResultBackend } from './rpc/rpc-result-backend';

/** What a backend may need to know about the app using it. */
export interface BackendContext {
  /** The app's reply address (every message's reply_to): the rpc:// reply queue. */
  oid: string;
}

/** The configured backend, or null when resultBackend is unset (results disabled). */
export function resolveBackend(conf: CeleriacSettings, context: BackendContext = { oid: randomUUID() }): ResultBackend | null {
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
    case 'rpc':
      return new RpcResultBackend({ brokerUrl: conf.brokerUrl, oid: context.oid, expires: conf.resultExpires || 86400 });
    default:
      throw new ConfigError('resultBackend', `Unsupported result backend URL "${url}": use redis://, rediss://, rpc:// or memory://.`);
  }
}
