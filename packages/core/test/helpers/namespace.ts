/**
 * Per-file isolation on shared services: a unique key prefix, and a cleanup that deletes only the keys
 * under it (SCAN + UNLINK, never FLUSHALL), so test files can run in parallel against one Redis.
 *
 * @example
 * const ns = testNamespace('redis-broker'); // prefix "t-redis-broker-x7k2q9:"
 * runBrokerContract('redis', () => new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix }));
 * afterAll(() => ns.cleanup());
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';

/** Redis used by integration tests; override with CELERIAC_TEST_REDIS_URL. */
export const TEST_REDIS_URL = process.env.CELERIAC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export interface TestNamespaceOptions {
  /** Other database numbers the file writes to, cleaned as well. */
  extraDbs?: number[];
}

export interface TestNamespace {
  /** Unique key prefix, e.g. `t-redis-broker-x7k2q9:`. */
  readonly prefix: string;
  /** The Redis URL tests should use (database of TEST_REDIS_URL). */
  readonly redisUrl: string;
  /** A name unique to this namespace (queues, exchanges, task names): `<prefix><name>`. */
  name(name: string): string;
  /** The same Redis URL with another database number. */
  redisUrlForDb(db: number): string;
  /** App settings for a Redis broker whose keys start with `prefix`. */
  redisBroker(): { brokerUrl: string; brokerTransportOptions: { globalKeyprefix: string } };
  /** App settings for Redis results whose keys start with `prefix` (in database `db`, default the namespace's). */
  redisResults(db?: number): { resultBackend: string; resultBackendTransportOptions: { globalKeyprefix: string } };
  /** Deletes every key starting with `prefix` in the namespace's databases; returns how many. */
  cleanup(): Promise<number>;
}

export function testNamespace(name: string, options: TestNamespaceOptions = {}): TestNamespace {
  const prefix = `t-${name}-${randomBytes(4).toString('hex')}:`;
  const base = new URL(TEST_REDIS_URL);
  const baseDb = Number(base.pathname.replace(/^\//, '') || '0');
  const urlForDb = (db: number): string => {
    const u = new URL(TEST_REDIS_URL);
    u.pathname = `/${db}`;
    return u.toString();
  };
  return {
    prefix,
    redisUrl: TEST_REDIS_URL,
    name: (n) => `${prefix}${n}`,
    redisUrlForDb: urlForDb,
    redisBroker: () => ({ brokerUrl: TEST_REDIS_URL, brokerTransportOptions: { globalKeyprefix: prefix } }),
    redisResults: (db) => ({ resultBackend: db === undefined ? TEST_REDIS_URL : urlForDb(db), resultBackendTransportOptions: { globalKeyprefix: prefix } }),
    async cleanup() {
      let deleted = 0;
      for (const db of new Set([baseDb, ...(options.extraDbs ?? [])])) {
        const client = new Redis(urlForDb(db), { lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await client.connect();
          const match = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
          let cursor = '0';
          do {
            const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
            cursor = next;
            if (keys.length) deleted += await client.unlink(...keys);
          } while (cursor !== '0');
        } finally {
          client.disconnect();
        }
      }
      return deleted;
    },
  };
}
