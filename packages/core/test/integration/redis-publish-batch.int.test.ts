/**
 * Publishes made in one tick are coalesced into one pipeline (the first goes out at once): every one
 * lands, in call order, and a failure reaches each caller. Consecutive pushes to one list travel as
 * one LPUSH with many values (at most 1000), seen here through MONITOR.
 */
import { BrokerError } from '../../src';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import type { Delivery } from '../../src/brokers/broker';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { watchCommands } from '../helpers/redis-monitor';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('publish-batch');
afterAll(() => ns.cleanup());

/** Consumes `count` messages from `q`, acking each; their ids in delivery order. */
async function drain(broker: RedisBroker, q: string, count: number, prefetch = 100): Promise<string[]> {
  const seen: string[] = [];
  const sub = await broker.consume(
    [q],
    async (d: Delivery) => {
      seen.push(String(d.message.headers.id));
      await d.ack();
    },
    { prefetch },
  );
  await waitFor(() => seen.length === count, 10_000, `${count} from ${q}`);
  await sub.cancel();
  return seen;
}

it('delivers 500 concurrent publishes exactly once, in call order', async () => {
  const broker = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
  await broker.connect();
  const q = ns.name('q');
  try {
    const ids = Array.from({ length: 500 }, (_, i) => `m${i}`);
    await Promise.all(ids.map((id) => broker.publish(testMessage(id), { exchange: '', routingKey: q })));
    expect(await broker.queueLength(q)).toBe(500);
    expect(await drain(broker, q, 500, 50)).toEqual(ids);
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

/** The LPUSHes Redis executes on this file's keys, as [key, value count], while `fn` runs. */
async function lpushesDuring(fn: () => Promise<void>, expectedValues: number): Promise<Array<[string, number]>> {
  const watch = await watchCommands(ns.redisUrl, (args) => args[0]?.toLowerCase() === 'lpush' && args[1]!.startsWith(ns.prefix));
  const pushes = (): Array<[string, number]> => watch.seen.map((args) => [args[1]!, args.length - 2]);
  try {
    await fn();
    await waitFor(() => pushes().reduce((n, [, c]) => n + c, 0) >= expectedValues, 10_000, 'MONITOR to show every LPUSH');
    return pushes();
  } finally {
    watch.stop();
  }
}

it('publishMany sends each run of messages to one list as one LPUSH of up to 1000 values, order kept', async () => {
  const broker = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
  await broker.connect();
  const [a, b] = [ns.name('runs-a'), ns.name('runs-b')];
  try {
    const batch = (q: string, from: number, n: number) => Array.from({ length: n }, (_, i) => ({ message: testMessage(`${q}-${from + i}`), route: { exchange: '', routingKey: q } }));
    const items = [...batch(a, 0, 1200), ...batch(b, 0, 300), ...batch(a, 1200, 1000)];
    const pushes = await lpushesDuring(() => broker.publishMany(items), items.length);
    expect(pushes).toEqual([
      [ns.prefix + a, 1000],
      [ns.prefix + a, 200],
      [ns.prefix + b, 300],
      [ns.prefix + a, 1000],
    ]);
    expect(await drain(broker, a, 2200)).toEqual(Array.from({ length: 2200 }, (_, i) => `${a}-${i}`));
    expect(await drain(broker, b, 300)).toEqual(Array.from({ length: 300 }, (_, i) => `${b}-${i}`));
  } finally {
    await broker.close();
  }
});

it('coalesces the publishes of one tick to one list into one LPUSH after the first', async () => {
  const broker = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
  await broker.connect();
  const q = ns.name('tick');
  try {
    const ids = Array.from({ length: 300 }, (_, i) => `t${i}`);
    const pushes = await lpushesDuring(async () => {
      await Promise.all(ids.map((id) => broker.publish(testMessage(id), { exchange: '', routingKey: q })));
    }, ids.length);
    expect(pushes).toEqual([
      [ns.prefix + q, 1],
      [ns.prefix + q, 299],
    ]);
    expect(await drain(broker, q, 300)).toEqual(ids);
  } finally {
    await broker.close();
  }
});
