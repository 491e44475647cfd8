/** Broker URL scheme -> implementation. */
import type { CeleriacSettings } from '../app/settings';
import { ConfigError } from '../errors';
import { AmqpBroker } from './amqp/amqp-broker';
import type { Broker } from './broker';
import { MemoryBroker } from './memory/memory-broker';
import { RedisBroker } from './redis/redis-broker';

export function resolveBroker(conf: CeleriacSettings): Broker {
  const url = conf.brokerUrl;
  const scheme = url.split(':', 1)[0]!.toLowerCase();
  switch (scheme) {
    case 'memory':
      return new MemoryBroker({ name: url.slice('memory://'.length) || 'default' });
    case 'redis':
    case 'rediss':
      return new RedisBroker({
        url,
        keyPrefix: conf.brokerTransportOptions.globalKeyprefix,
        visibilityTimeout: conf.brokerTransportOptions.visibilityTimeout,
        connectionTimeout: conf.brokerConnectionTimeout,
        consumerWatchdogInterval: conf.brokerTransportOptions.consumerWatchdogInterval,
      });
    case 'amqp':
    case 'amqps':
    case 'pyamqp': // Celery's name for its py-amqp transport
      return new AmqpBroker({
        url,
        heartbeat: conf.brokerHeartbeat,
        connectionTimeout: conf.brokerConnectionTimeout,
        consumerWatchdogInterval: conf.brokerTransportOptions.consumerWatchdogInterval,
      });
    default:
      throw new ConfigError('brokerUrl', `Unsupported broker URL "${url}": use redis://, rediss://, amqp://, amqps:// or memory://.`);
  }
}
