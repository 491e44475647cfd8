/**
 * Queue declarations from taskQueues on RabbitMQ (x-max-priority, quorum queues, a mismatch with an
 * existing queue) and delayed delivery: a worker hands an ETA beyond its hold limit to the broker's
 * delay levels instead of holding it unacked (so it never meets consumer_timeout), and the task runs
 * once, on time. Isolation: a vhost of this file's own (deleted afterwards); results in memory.
 */
import { randomUUID } from 'node:crypto';
import { BrokerError, Celeriac, Worker, createLogger, type CeleriacOptions } from '../../src';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';

let vhost: TestVhost;
const apps: Celeriac[] = [];
const workers: Worker[] = [];

function makeApp(extra: CeleriacOptions = {}): Celeriac {
  const app = new Celeriac({ brokerUrl: vhost.url, resultBackend: `memory://${randomUUID()}`, logger: createLogger('silent'), ...extra });
  apps.push(app);
  return app;
}

beforeAll(async () => {
  vhost = await createTestVhost('amqp-queues');
}, 30_000);

afterAll(async () => {
  for (const w of workers) await w.close();
  for (const a of apps) await a.close();
  await vhost.delete();
}, 30_000);

test('taskQueueMaxPriority declares x-max-priority (int32) and RabbitMQ serves 9 first', async () => {
  const app = makeApp({ taskDefaultQueue: 'prio', taskDefaultExchange: 'prio', taskDefaultRoutingKey: 'prio', taskQueueMaxPriority: 9 });
  const order: number[] = [];
  const t = app.task('t.order', async (p: number) => {
    order.push(p);
  });
  for (const p of [0, 9, 5, 2, 7]) await t.applyAsync([p], { priority: p });
  const q = (await listQueues(vhost.name)).find((x) => x.name === 'prio');
  expect(q).toMatchObject({ durable: true, arguments: { 'x-max-priority': 9 } });
  const w = new Worker(app, { concurrency: 1, prefetchMultiplier: 1, remoteControl: false });
  workers.push(w);
  await w.start();
  for (let i = 0; i < 500 && order.length < 5; i++) await new Promise((r) => setTimeout(r, 10));
  expect(order).toEqual([9, 7, 5, 2, 0]);
});

test('taskQueues declares a quorum queue; the worker consumes it (per-consumer qos)', async () => {
  const app = makeApp({ taskDefaultQueue: 'quorate', taskDefaultExchange: 'quorate', taskDefaultRoutingKey: 'quorate', taskQueues: [{ name: 'quorate', queueArguments: { 'x-queue-type': 'quorum' } }] });
  const add = app.task('t.add', async (x: number, y: number) => x + y);
  const w = new Worker(app, { concurrency: 2 });
  workers.push(w);
  await w.start();
  await expect((await add.delay(2, 3)).get({ timeout: 10_000 })).resolves.toBe(5);
  const q = (await listQueues(vhost.name)).find((x) => x.name === 'quorate');
  expect(q).toMatchObject({ durable: true, arguments: { 'x-queue-type': 'quorum' } });
});

test('a declaration that differs from the existing queue is a clear error naming the argument', async () => {
  const app = makeApp({ taskDefaultQueue: 'prio', taskDefaultExchange: 'prio', taskDefaultRoutingKey: 'prio', taskQueueMaxPriority: 5 });
  const t = app.task('t.order', async () => undefined);
  const err = await t.delay().catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BrokerError);
  expect(String((err as Error).message)).toMatch(/prio/);
  expect(String((err as Error).message)).toMatch(/x-max-priority/);
});

test('an ETA beyond the hold limit is handed to the delay levels, not held, and runs once when due', async () => {
  const app = makeApp({ taskDefaultQueue: 'later', taskDefaultExchange: 'later', taskDefaultRoutingKey: 'later', taskQueues: [{ name: 'later', queueArguments: { 'x-queue-type': 'quorum' } }] });
  const runs: number[] = [];
  const stamp = app.task('t.stamp', async () => {
    runs.push(Date.now());
    return 'ran';
  });
  const w = new Worker(app, { concurrency: 2, etaHoldLimit: 1 });
  workers.push(w);
  await w.start();
  const eta = new Date(Date.now() + 3000);
  const r = await stamp.applyAsync([], { eta });
  // The worker took it, re-published it into the delay levels and acked it: nothing held or waiting.
  for (let i = 0; i < 200; i++) {
    const queues = await listQueues(vhost.name);
    if (queues.some((q) => q.name.startsWith('celery_delayed_'))) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  const held = await app.control.inspect({ destination: [w.hostname], timeout: 1 }).scheduled();
  expect(held?.[w.hostname] ?? []).toEqual([]);
  expect(await app.broker.queueLength('later')).toBe(0);
  await expect(r.get({ timeout: 15_000 })).resolves.toBe('ran');
  expect(runs).toHaveLength(1);
  expect(runs[0]!).toBeGreaterThanOrEqual(eta.getTime() - 5);
  const levels = (await listQueues(vhost.name)).filter((q) => q.name.startsWith('celery_delayed_'));
  expect(levels).toHaveLength(28);
  expect(levels.find((q) => q.name === 'celery_delayed_3')).toMatchObject({ arguments: { 'x-queue-type': 'quorum', 'x-message-ttl': 8000, 'x-dead-letter-exchange': 'celery_delayed_2' } });
}, 30_000);

test('a broadcast queue (fanout) reaches every worker on RabbitMQ', async () => {
  const seen: string[] = [];
  const make = (): Celeriac => {
    const app = makeApp({ taskQueues: [{ name: 'all_workers', exchangeType: 'fanout' }] });
    app.task('t.hello', async function (this: { request: { hostname: string } }) {
      seen.push(this.request.hostname);
    });
    return app;
  };
  const [a, b, client] = [make(), make(), make()];
  for (const [app, name] of [[a, 'a@bcast'], [b, 'b@bcast']] as const) {
    const w = new Worker(app, { hostname: name, queues: ['all_workers'], remoteControl: false });
    workers.push(w);
    await w.start();
  }
  await client.sendTask('t.hello', [], {}, { queue: 'all_workers' });
  for (let i = 0; i < 500 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  expect(seen.sort()).toEqual(['a@bcast', 'b@bcast']);
  expect((await listQueues(vhost.name)).filter((q) => q.name.startsWith('bcast.'))).toHaveLength(2);
});
