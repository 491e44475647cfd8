/**
 * The AMQP consumer watchdog against a real RabbitMQ, in a vhost of this file's own: a consumer that
 * RabbitMQ cancelled (its queue deleted, declared again or not) or whose channel went silent on the
 * server is rebuilt, every step reported through onError and the rebuild through onRecover; a healthy
 * consumer (idle, or with a full handler window) is left alone. Rounds every 200 ms here.
 */
import type { ConsumerRecovery, Delivery } from '../../src/brokers/broker';
import { AmqpBroker } from '../../src/brokers/amqp/amqp-broker';
import { BrokerConnectionError, BrokerError, ConfigError } from '../../src/errors';
import { testMessage } from '../contract/broker.contract';
import { resumeChannels, suspendConsumerChannels } from '../helpers/amqp-channels';
import { closeVhostConnections } from '../helpers/amqp-connections';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';
import { deferred, waitFor } from '../helpers/wait';

const INTERVAL_S = 0.2;

let vhost: TestVhost;
beforeAll(async () => {
  vhost = await createTestVhost('amqp-watchdog');
});
afterAll(() => vhost.delete());

describe('AMQP consumer watchdog', () => {
  const brokers: AmqpBroker[] = [];
  let n = 0;
  const name = (kind: string): string => `${kind}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  async function broker(consumerWatchdogInterval = INTERVAL_S): Promise<AmqpBroker> {
    const b = new AmqpBroker({ url: vhost.url, consumerWatchdogInterval });
    brokers.push(b);
    await b.connect();
    return b;
  }

  async function celeryQueue(b: AmqpBroker): Promise<string> {
    const q = name('q');
    await b.declareQueue({ name: q, exchange: q, routingKey: q });
    return q;
  }

  /** A consumer that acks everything, recording ids, errors and recoveries. */
  async function recordingConsumer(b: AmqpBroker, queues: string[], prefetch = 4) {
    const ids: string[] = [];
    const errors: unknown[] = [];
    const recoveries: ConsumerRecovery[] = [];
    const sub = await b.consume(queues, async (d) => {
      ids.push(String(d.message.headers.id));
      await d.ack();
    }, { prefetch, onError: (e) => errors.push(e), onRecover: (r) => recoveries.push(r) });
    return { ids, errors, recoveries, sub };
  }

  const publish = (b: AmqpBroker, q: string, ids: string[]) => b.publishMany(ids.map((id) => ({ message: testMessage(id), route: { exchange: '', routingKey: q } })));
  const messages = (errors: unknown[]) => errors.map((e) => (e as Error).message);

  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  it('consumes again a queue deleted and declared again by another client (basic.cancel), messages sent meanwhile included', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const other = await celeryQueue(b); // a second queue of the same consumer, unaffected throughout
    const c = await recordingConsumer(b, [q, other]);
    await publish(b, q, ['before']);
    await waitFor(() => c.ids.length === 1, 5000, 'the first delivery');

    const admin = await broker(0);
    await admin.deleteQueue({ name: q, exchange: q, routingKey: q });
    await admin.declareQueue({ name: q, exchange: q, routingKey: q });
    await publish(admin, q, ['meanwhile-1', 'meanwhile-2']);
    await waitFor(() => c.recoveries.length > 0, 5000, 'the watchdog to rebuild the consumer');
    await publish(admin, q, ['after']);
    await publish(admin, other, ['other']);
    await waitFor(() => c.ids.length === 5, 5000, 'every message');

    expect(c.ids.sort()).toEqual(['after', 'before', 'meanwhile-1', 'meanwhile-2', 'other']);
    expect(messages(c.errors)).toEqual([
      expect.stringContaining(`RabbitMQ cancelled the consumer of queue "${q}"`),
      expect.stringMatching(new RegExp(`stopped receiving \\(RabbitMQ cancelled the consumer of "${q}"\\): rebuilding it`)),
    ]);
    expect(c.errors.every((e) => e instanceof BrokerError)).toBe(true);
    expect(c.recoveries).toEqual([{ kind: 'rebuilt', queues: [q, other], message: expect.stringContaining('again') as string, downMs: expect.any(Number) as number }]);
    expect(c.recoveries[0]!.downMs).toBeLessThan(3000);
    expect(await b.queueLength(q)).toBe(0);
  });

  it('declares again a queue it declared that another client deleted, and consumes it', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const c = await recordingConsumer(b, [q]);
    const admin = await broker(0);
    await admin.deleteQueue({ name: q, exchange: q, routingKey: q });
    await waitFor(() => c.recoveries.length > 0, 5000, 'the rebuild');
    expect((await listQueues(vhost.name)).find((r) => r.name === q)).toEqual({ name: q, durable: true, auto_delete: false, arguments: {} });
    await publish(admin, q, ['back']); // the binding came back too: routed through the queue's exchange
    await admin.publish(testMessage('via-exchange'), { exchange: q, routingKey: q });
    await waitFor(() => c.ids.length === 2, 5000, 'the messages on the queue declared again');
    expect(c.ids.sort()).toEqual(['back', 'via-exchange']);
  });

  it('leaves alone a queue this broker deleted itself: reported once, not declared again', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const c = await recordingConsumer(b, [q]);
    await b.deleteQueue({ name: q, exchange: q, routingKey: q });
    await waitFor(() => c.errors.length > 0, 5000, 'the cancel to be reported');
    // Proving an absence takes a time window: ten watchdog rounds.
    await new Promise((resolve) => setTimeout(resolve, 10 * INTERVAL_S * 1000));
    expect(messages(c.errors)).toEqual([expect.stringContaining(`RabbitMQ cancelled the consumer of queue "${q}"`)]);
    expect(c.recoveries).toEqual([]);
    expect((await listQueues(vhost.name)).some((r) => r.name === q)).toBe(false);
  });

  it('rebuilds a consumer whose channel went silent on the server while messages wait, and loses none', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const c = await recordingConsumer(b, [q], 2);
    await publish(b, q, ['warm-up']);
    await waitFor(() => c.ids.length === 1, 5000, 'the first delivery');
    const pids = await suspendConsumerChannels(vhost.name);
    expect(pids).toHaveLength(1);
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `m${i}`);
      await publish(b, q, ids);
      // at most 2 (the qos) sit in the silent channel; the rest is received by the rebuilt consumer
      await waitFor(() => c.ids.length >= 9, 8000, 'the deliveries after the rebuild');
      expect(messages(c.errors)).toEqual([expect.stringMatching(/stopped receiving \(nothing delivered for 200 ms while \d+ message\(s\) wait in/)]);
      expect(c.recoveries.map((r) => r.kind)).toEqual(['rebuilt']);
    } finally {
      await resumeChannels(pids);
    }
    // the silent channel wakes up: what it held arrives (acked on it), then it is cancelled and closed
    await waitFor(() => c.ids.length === 11, 8000, 'the messages the silent channel held');
    expect(new Set(c.ids).size).toBe(11);
    await waitFor(async () => (await b.queueLength(q)) === 0, 5000, 'an empty queue');
    await publish(b, q, ['later']);
    await waitFor(() => c.ids.length === 12, 5000, 'a later message');
  });

  it('leaves a healthy consumer alone: idle on an empty queue, or with its handler window full while messages wait', async () => {
    const b = await broker();
    const idle = await celeryQueue(b);
    const busy = await celeryQueue(b);
    const idleConsumer = await recordingConsumer(b, [idle]);
    const gate = deferred();
    const started: Delivery[] = [];
    const errors: unknown[] = [];
    const recoveries: ConsumerRecovery[] = [];
    await b.consume([busy], async (d) => {
      started.push(d);
      await gate.promise;
      await d.ack();
    }, { prefetch: 1, onError: (e) => errors.push(e), onRecover: (r) => recoveries.push(r) });
    await publish(b, busy, ['x1', 'x2', 'x3']);
    await waitFor(() => started.length === 1, 5000, 'the first handler call');
    // Proving an absence takes a time window: ten watchdog rounds.
    await new Promise((resolve) => setTimeout(resolve, 10 * INTERVAL_S * 1000));
    expect([...errors, ...idleConsumer.errors]).toEqual([]);
    expect([...recoveries, ...idleConsumer.recoveries]).toEqual([]);
    expect(await b.queueLength(busy)).toBe(2);
    gate.resolve();
    await waitFor(() => started.length === 3, 5000, 'the other two');
  });

  it('reports a reconnect through onRecover, with how long consuming was interrupted', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const c = await recordingConsumer(b, [q]);
    expect(await closeVhostConnections(vhost.name)).toBeGreaterThan(0);
    await waitFor(() => c.recoveries.length > 0, 10_000, 'the reconnect');
    expect(c.recoveries).toEqual([{ kind: 'reconnected', queues: [q], message: expect.stringContaining('after a reconnect') as string, downMs: expect.any(Number) as number }]);
    expect(c.errors.length).toBeGreaterThan(0);
    expect(c.errors.every((e) => e instanceof BrokerConnectionError)).toBe(true);
    await publish(b, q, ['after']);
    await waitFor(() => c.ids.length === 1, 5000, 'a message after the reconnect');
  });

  it('refuses a negative interval; 0 disables the watchdog', async () => {
    expect(() => new AmqpBroker({ url: vhost.url, consumerWatchdogInterval: -1 })).toThrow(ConfigError);
    const b = await broker(0);
    const q = await celeryQueue(b);
    const c = await recordingConsumer(b, [q]);
    const admin = await broker(0);
    await admin.deleteQueue({ name: q, exchange: q, routingKey: q });
    await waitFor(() => c.errors.length > 0, 5000, 'the cancel to be reported');
    expect(messages(c.errors)).toEqual([expect.stringContaining('the consumer watchdog is disabled')]);
  });
});
