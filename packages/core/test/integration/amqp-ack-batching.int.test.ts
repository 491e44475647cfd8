/**
 * The AMQP consumer's batched acks against a real RabbitMQ (a vhost of this file's own): acks of one
 * event-loop turn go as one basic.ack with `multiple` over the settled run, but never cover a
 * delivery that is still open (held behind, or rejected in between): what is still held comes back
 * after a reconnect, nothing acked does.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AmqpBroker } from '../../src/brokers/amqp/amqp-broker';
import type { Delivery } from '../../src/brokers/broker';
import { testMessage } from '../contract/broker.contract';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);
let vhost: TestVhost;
beforeAll(async () => {
  vhost = await createTestVhost('amqp-acks');
});
afterAll(() => vhost.delete());

/** messages_ready and messages_unacknowledged of a queue, as RabbitMQ counts them. */
async function counts(queue: string): Promise<{ ready: number; unacked: number }> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', '-p', vhost.name, '--formatter', 'json', 'name', 'messages_ready', 'messages_unacknowledged']);
  const row = (JSON.parse(stdout) as Array<{ name: string; messages_ready: number; messages_unacknowledged: number }>).find((r) => r.name === queue);
  return { ready: row?.messages_ready ?? -1, unacked: row?.messages_unacknowledged ?? -1 };
}

async function filled(broker: AmqpBroker, queue: string, n: number): Promise<void> {
  await broker.declareQueue({ name: queue, exchange: queue, routingKey: queue });
  await broker.publishMany(Array.from({ length: n }, (_, i) => ({ message: testMessage(`m${i}`), route: { exchange: '', routingKey: queue } })));
}

describe('batched acks', () => {
  it('acks around open deliveries: the held first one and a rejected-with-requeue one stay, the rest are gone', async () => {
    const broker = new AmqpBroker({ url: vhost.url });
    await broker.connect();
    const queue = `acks-${Date.now()}`;
    await filled(broker, queue, 40);
    const got: Delivery[] = [];
    const sub = await broker.consume([queue], (d) => void got.push(d), { prefetch: 40 });
    await waitFor(() => got.length === 40, 10_000, '40 deliveries');
    const id = (d: Delivery): string => d.message.headers.id as string;
    const [first, ...rest] = got;
    // out of order, over several turns, one requeued in the middle
    for (const d of rest.slice(20).reverse()) await d.ack();
    await new Promise((r) => setImmediate(r));
    await rest[10]!.reject({ requeue: true });
    for (const [i, d] of rest.slice(0, 20).entries()) if (i !== 10) void d.ack();
    await waitFor(async () => (await counts(queue)).unacked === 2, 10_000, 'the two open deliveries to be the only unacked ones');

    await sub.cancel();
    await broker.close(); // the held one goes back
    const again = new AmqpBroker({ url: vhost.url });
    await again.connect();
    const back: Delivery[] = [];
    const sub2 = await again.consume([queue], (d) => void back.push(d), { prefetch: 10 });
    await waitFor(() => back.length === 2, 10_000, 'the two open messages again');
    expect(back.map(id).sort()).toEqual([id(first!), id(rest[10]!)].sort());
    for (const d of back) await d.ack();
    await waitFor(async () => (await counts(queue)).unacked === 0, 10_000, 'all acked');
    expect(await counts(queue)).toEqual({ ready: 0, unacked: 0 });
    await sub2.cancel();
    await again.close();
  });

  it('a cancelled subscription closes its channel only after the last ack went out', async () => {
    const broker = new AmqpBroker({ url: vhost.url });
    await broker.connect();
    const queue = `acks-cancel-${Date.now()}`;
    await filled(broker, queue, 20);
    const got: Delivery[] = [];
    const sub = await broker.consume([queue], (d) => void got.push(d), { prefetch: 20 });
    await waitFor(() => got.length === 20, 10_000, '20 deliveries');
    await sub.cancel();
    for (const d of got) void d.ack(); // the last one closes the channel in the same turn
    await waitFor(async () => (await counts(queue)).unacked === 0, 10_000, 'all acked');
    expect(await counts(queue)).toEqual({ ready: 0, unacked: 0 });
    await broker.close();
  });
});
