/**
 * delay() on Redis writes the task (LPUSH) first and subscribes to its result (SUBSCRIBE) right
 * after, so the subscription is not on the task's way to the worker; get() still misses nothing,
 * also a result that was stored before any subscription saw it (GET after subscribing).
 */
import { Redis } from 'ioredis';
import { Celeriac, createLogger } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { watchCommands } from '../helpers/redis-monitor';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('send-subscribe');
const raw = new Redis(ns.redisUrl);
afterAll(async () => {
  raw.disconnect();
  await ns.cleanup();
});

it('publishes before subscribing, and get() returns a result stored before the subscription saw it', async () => {
  const app = new Celeriac({ ...ns.redisBroker(), ...ns.redisResults(), logger: createLogger('silent') });
  const task = app.task(ns.name('add'), (a: number, b: number) => a + b);
  await app.connect();
  const watch = await watchCommands(ns.redisUrl, (args) => ['lpush', 'subscribe'].includes(args[0]!.toLowerCase()) && args.slice(1).some((a) => a.startsWith(ns.prefix)));
  const order = (): string[] => watch.seen.map((args) => args[0]!.toLowerCase());
  try {
    const result = await task.delay(2, 3);
    await waitFor(() => order().length >= 2, 5000, 'MONITOR to show the LPUSH and the SUBSCRIBE');
    expect(order().slice(0, 2)).toEqual(['lpush', 'subscribe']);
    // as a worker would, but without PUBLISH: only the key holds it
    const doc = { status: 'SUCCESS', result: 5, traceback: null, children: [], date_done: new Date().toISOString(), task_id: result.id };
    await raw.set(`${ns.prefix}celery-task-meta-${result.id}`, JSON.stringify(doc));
    await expect(result.get({ timeout: 5 })).resolves.toBe(5);
  } finally {
    watch.stop();
    await app.close();
  }
});
