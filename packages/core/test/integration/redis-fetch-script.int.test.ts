/**
 * The fetch script reads the delivery tag, exchange and routing key with plain string finds, and falls
 * back to cjson for envelopes it cannot read that way (escaped characters, other key orders). Both paths
 * must write Kombu's unacked entry `[envelope, exchange, routing_key]` exactly.
 */
import { Redis } from 'ioredis';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import type { Delivery } from '../../src/brokers/broker';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('fetch-script');
let broker: RedisBroker;
let raw: Redis;

beforeAll(async () => {
  broker = new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix });
  await broker.connect();
  raw = new Redis(ns.redisUrl);
});
afterAll(async () => {
  await broker.close();
  raw.disconnect();
  await ns.cleanup();
});

async function receiveHeld(queue: string): Promise<Delivery> {
  const got: Delivery[] = [];
  const sub = await broker.consume([queue], (d) => new Promise<void>(() => void got.push(d)), { prefetch: 1 });
  await waitFor(() => got.length === 1, 5000, 'delivery');
  await sub.cancel();
  return got[0]!;
}

it.each([
  ['a plain routing key (pattern path)', 'plain-q'],
  ['a routing key with a quote and a backslash (cjson path)', 'we"ird\\q'],
])('records %s in unacked as Kombu does', async (_label, queueSuffix) => {
  const queue = ns.name(queueSuffix);
  await broker.publish(testMessage('fx-' + queueSuffix), { exchange: '', routingKey: queue });
  const delivery = await receiveHeld(queue);
  const entry = await raw.hget(`${ns.prefix}unacked`, delivery.info.deliveryTag);
  expect(entry).not.toBeNull();
  const parsed = JSON.parse(entry!) as [Record<string, unknown>, string, string];
  expect(parsed[1]).toBe('');
  expect(parsed[2]).toBe(queue);
  expect((parsed[0].properties as Record<string, unknown>).delivery_tag).toBe(delivery.info.deliveryTag);
  await delivery.ack();
  await waitFor(async () => (await raw.hexists(`${ns.prefix}unacked`, delivery.info.deliveryTag)) === 0, 5000, 'ack');
});

it('records a Python-spaced envelope whose delivery_info has extra keys', async () => {
  const queue = ns.name('py-q');
  const tag = 'b23a696c-3ffb-4076-8075-2efc4fe00044';
  const env =
    '{"body": "W1syLCAzXSwge30sIHsiY2FsbGJhY2tzIjogbnVsbCwgImVycmJhY2tzIjogbnVsbCwgImNoYWluIjogbnVsbCwgImNob3JkIjogbnVsbH1d", "content-encoding": "utf-8", "content-type": "application/json", ' +
    `"headers": {"lang": "py", "task": "tasks.add", "id": "87befc1e-39f6-436b-b83a-73f71504dec4"}, "properties": {"correlation_id": "87befc1e", "delivery_mode": 2, "delivery_info": {"exchange": "", "routing_key": "${queue}", "redelivered": true}, "priority": 0, "body_encoding": "base64", "delivery_tag": "${tag}"}}`;
  await raw.lpush(ns.prefix + queue, env); // the broker prefixes every key
  const delivery = await receiveHeld(queue);
  expect(delivery.info.deliveryTag).toBe(tag);
  expect(await raw.hget(`${ns.prefix}unacked`, tag)).toBe(`[${env}, "", "${queue}"]`);
  await delivery.ack();
});
