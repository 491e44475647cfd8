/**
 * Bulk consumption through the pipelined fetch and batched acks: N messages published in batches, one
 * consumer with prefetch 200 whose handler acks at once; every message is delivered exactly once and
 * every ack reaches Redis. Speed is measured by `npm run bench`, not here.
 */
import { Redis } from 'ioredis';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { deferred, waitFor } from '../helpers/wait';

const ns = testNamespace('redis-bulk');
const N = Number(process.env.CELERIAC_THROUGHPUT_N ?? 20_000);
const PREFETCH = 200;

describe('RedisBroker bulk consumption', () => {
  const raw = new Redis(ns.redisUrl, { lazyConnect: true });
  const brokers: RedisBroker[] = [];
  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    await ns.cleanup();
    raw.disconnect();
  });

  it(`consumes and acks ${N} messages with prefetch ${PREFETCH}`, async () => {
    const b = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
    brokers.push(b);
    await b.connect();
    const q = 'tp';
    const route = { exchange: '', routingKey: q };
    const message = testMessage('tp');
    for (let i = 0; i < N; i += 1000) {
      await b.publishMany(Array.from({ length: Math.min(1000, N - i) }, () => ({ message, route })));
    }
    expect(await b.queueLength(q)).toBe(N);

    let handled = 0;
    const tags = new Set<string>();
    const all = deferred<void>();
    const sub = await b.consume(
      [q],
      (d) => {
        tags.add(d.info.deliveryTag);
        void d.ack();
        if (++handled === N) all.resolve();
      },
      { prefetch: PREFETCH },
    );
    await all.promise;
    await waitFor(async () => (await raw.hlen(`${ns.prefix}unacked`)) === 0, 10_000, 'every ack flushed');
    expect(await b.queueLength(q)).toBe(0);
    expect(tags.size).toBe(N); // every message delivered exactly once
    await sub.cancel();
    await b.close();
  }, 120_000);
});
