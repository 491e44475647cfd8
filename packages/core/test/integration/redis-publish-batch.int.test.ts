/**
 * Publishes made in one tick are coalesced into one pipeline (the first goes out at once): every one
 * lands, in call order, and a failure reaches each caller.
 */
import { BrokerError } from '../../src';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import type { Delivery } from '../../src/brokers/broker';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('publish-batch');
afterAll(() => ns.cleanup());

it('delivers 500 concurrent publishes exactly once, in call order', async () => {
  const broker = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
  await broker.connect();
  const q = ns.name('q');
  try {
    const ids = Array.from({ length: 500 }, (_, i) => `m${i}`);
    await Promise.all(ids.map((id) => broker.publish(testMessage(id), { exchange: '', routingKey: q })));
    expect(await broker.queueLength(q)).toBe(500);
    const seen: string[] = [];
    const sub = await broker.consume(
      [q],
      async (d: Delivery) => {
        seen.push(String(d.message.headers.id));
        await d.ack();
      },
      { prefetch: 50 },
    );
    await waitFor(() => seen.length === 500, 10_000, 'all delivered');
    await sub.cancel();
    expect(seen).toEqual(ids);
  } finally {
    await broker.close();
  }
});

it('rejects every coalesced publish when the broker is closed', async () => {
  const broker = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
  await broker.connect();
  await broker.close();
  const results = await Promise.allSettled(Array.from({ length: 5 }, (_, i) => broker.publish(testMessage(`x${i}`), { exchange: '', routingKey: ns.name('closed') })));
  expect(results.every((r) => r.status === 'rejected' && r.reason instanceof BrokerError)).toBe(true);
});
