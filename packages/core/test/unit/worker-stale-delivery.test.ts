/** A delivery the transport already gave back (AMQP: its channel died) is not run: it will run elsewhere. */
import { randomUUID } from 'node:crypto';
import { Celeriac, MemoryBroker, MemoryKeyValueStore, Worker, createLogger, type Delivery } from '../../src';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

it('skips stale deliveries and runs the others', async () => {
  const hub = `memory://${randomUUID()}`;
  const app = new Celeriac({ brokerUrl: hub, resultBackend: hub, logger: createLogger('silent') });
  const ran: string[] = [];
  const echo = app.task('t.echo', async (x: string) => {
    ran.push(x);
    return x;
  });
  // Marks the delivery of the task sent with argument "stale" as already given back by the transport.
  const broker = app.broker;
  const consume = broker.consume.bind(broker);
  broker.consume = (queues, handler, options) =>
    consume(queues, (d: Delivery) => handler(d.message.headers.argsrepr === "('stale',)" ? { ...d, ack: d.ack, reject: d.reject, restore: d.restore, isStale: () => true } : d), options);
  const worker = new Worker(app, { concurrency: 1, remoteControl: false });
  await worker.start();
  try {
    const stale = await echo.delay('stale');
    const fresh = await echo.delay('fresh');
    await expect(fresh.get({ timeout: 5000 })).resolves.toBe('fresh');
    expect(ran).toEqual(['fresh']);
    await expect(stale.state()).resolves.toBe('PENDING');
  } finally {
    await worker.close();
    await app.close();
  }
});
