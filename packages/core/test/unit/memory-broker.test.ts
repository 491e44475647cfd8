import { randomUUID } from 'node:crypto';
import type { Delivery } from '../../src/brokers/broker';
import { FANOUT_BUFFER_LIMIT } from '../../src/brokers/broker';
import { MemoryBroker } from '../../src/brokers/memory/memory-broker';
import { BrokerError } from '../../src/errors';
import { runBrokerContract, testMessage } from '../contract/broker.contract';
import { deferred, waitFor } from '../helpers/wait';

// A hub of its own per broker, so tests never see each other's queues.
runBrokerContract('memory', () => new MemoryBroker({ name: randomUUID() }));

describe('MemoryBroker fanout (as Kombu on Redis)', () => {
  const brokers: MemoryBroker[] = [];
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  async function consumer(b: MemoryBroker, queue: string, bindingKey: string, exchange = 'celeryev') {
    await b.declareQueue({ name: queue, exchange, routingKey: bindingKey, exchangeType: 'fanout' });
    const got: Delivery[] = [];
    await b.consume([queue], (d) => void got.push(d), { prefetch: 10 });
    return got;
  }

  it('matches the routing key against the binding key as a glob, # meaning *', async () => {
    const b = new MemoryBroker({ name: randomUUID() });
    brokers.push(b);
    const all = await consumer(b, 'monitor', '#');
    const gossip = await consumer(b, 'gossip', 'worker.#');
    const exact = await consumer(b, 'exact', 'task.?ent');
    const empty = await consumer(b, 'empty', '');
    const send = (id: string, routingKey: string): Promise<void> => b.publish(testMessage(id), { exchange: 'celeryev', routingKey });
    await send('hb', 'worker.heartbeat');
    await send('multi', 'task.multi');
    await send('sent', 'task.sent');
    await send('none', '');
    await waitFor(() => all.length === 3 && empty.length === 1, 5000, 'every broadcast');
    const ids = (got: Delivery[]): unknown[] => got.map((d) => d.message.headers.id);
    expect(ids(all)).toEqual(['hb', 'multi', 'sent']); // '*' needs the "/" of a routing key
    expect(ids(gossip)).toEqual(['hb']);
    expect(ids(exact)).toEqual(['sent']);
    expect(ids(empty)).toEqual(['none']);
  });

  it('reaches consumers of other brokers on the same hub, but only through a broker that knows the exchange as fanout', async () => {
    const name = randomUUID();
    const [worker, client, stranger] = [new MemoryBroker({ name }), new MemoryBroker({ name }), new MemoryBroker({ name })];
    brokers.push(worker, client, stranger);
    const got = await consumer(worker, 'w1.pidbox', '', 'celery.pidbox');
    await client.declareExchange('celery.pidbox', 'fanout');
    await client.publish(testMessage('ping'), { exchange: 'celery.pidbox', routingKey: '' });
    await waitFor(() => got.length === 1, 5000, 'the broadcast');
    // the stranger routes through the binding, as a Kombu client that never declared the exchange does
    await stranger.publish(testMessage('routed'), { exchange: 'celery.pidbox', routingKey: '' });
    expect(await stranger.queueLength('w1.pidbox')).toBe(1);
    expect(got.length).toBe(1);
  });

  it('drops and reports broadcasts beyond the buffer while the handler is busy', async () => {
    const b = new MemoryBroker({ name: randomUUID() });
    brokers.push(b);
    await b.declareQueue({ name: 'busy', exchange: 'ev', routingKey: '#', exchangeType: 'fanout' });
    const gate = deferred<void>();
    const errors: unknown[] = [];
    let calls = 0;
    await b.consume(['busy'], () => (++calls, gate.promise), { prefetch: 1, onError: (e) => errors.push(e) });
    await b.publish(testMessage('first'), { exchange: 'ev', routingKey: 'k' });
    await waitFor(() => calls === 1, 5000, 'the first handler call');
    for (let i = 0; i < FANOUT_BUFFER_LIMIT + 2; i++) await b.publish(testMessage(`m${i}`), { exchange: 'ev', routingKey: 'k' });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toBeInstanceOf(BrokerError);
    gate.resolve();
    await waitFor(() => calls === FANOUT_BUFFER_LIMIT + 1, 10_000, 'the buffered broadcasts');
  });
});
