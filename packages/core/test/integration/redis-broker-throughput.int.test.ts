/**
 * A quick throughput measurement of RedisBroker's consumer (fetch pipelining + ack batching), kept to
 * catch a performance regression: N messages published in batches, then one consumer with prefetch
 * 200 whose handler acks at once; timed from consume() until every message is acked in Redis.
 *
 * The rate is printed (`CELERIAC_PRINT_THROUGHPUT=1` to see it in a normal run); the assertion is a
 * loose floor so a slow CI machine does not fail it. N: `CELERIAC_THROUGHPUT_N` (default 20000).
 */
import { Redis } from 'ioredis';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { deferred, waitFor } from '../helpers/wait';

const ns = testNamespace('redis-throughput');
const N = Number(process.env.CELERIAC_THROUGHPUT_N ?? 20_000);
const PREFETCH = 200;

describe('RedisBroker throughput', () => {
  const raw = new Redis(ns.redisUrl, { lazyConnect: true });
  afterAll(async () => {
    await ns.cleanup();
    raw.disconnect();
  });

  it(`consumes and acks ${N} messages with prefetch ${PREFETCH}`, async () => {
    const b = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
    await b.connect();
    const q = 'tp';
    const route = { exchange: '', routingKey: q };
    const message = testMessage('tp');
    for (let i = 0; i < N; i += 1000) {
      await b.publishMany(Array.from({ length: Math.min(1000, N - i) }, () => ({ message, route })));
    }
    expect(await b.queueLength(q)).toBe(N);

    let handled = 0;
    const all = deferred<void>();
    const started = process.hrtime.bigint();
    const sub = await b.consume(
      [q],
      (d) => {
        void d.ack();
        if (++handled === N) all.resolve();
      },
      { prefetch: PREFETCH },
    );
    await all.promise;
    await waitFor(async () => (await raw.hlen(`${ns.prefix}unacked`)) === 0, 10_000, 'every ack flushed');
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(await b.queueLength(q)).toBe(0);
    await sub.cancel();
    await b.close();

    const rate = Math.round((N / ms) * 1000);
    if (process.env.CELERIAC_PRINT_THROUGHPUT) process.stdout.write(`RedisBroker throughput: ${N} messages in ${ms.toFixed(0)} ms = ${rate} msg/s\n`);
    expect(rate).toBeGreaterThan(2000);
  });
});
