// Durable ETA with Python Celery 5.2.6 on the same Redis queues (redis-delayed.ts). A Python client
// sends countdown tasks; our worker, with a hold limit shorter than the countdown, defers them into
// `celeriac.delayed` instead of holding them. Moved back when due, each runs exactly once: on our worker,
// or on a Python worker (the moved message keeps its `eta` header, which Python sees as past).
//
// Setup: Redis DB 14 is this file's own (Python's side has no key prefix, so `celeriac.delayed` and
// `unacked` are the plain names); the queue is `interop-eta-<random>`; cleanup removes only what this run
// created (its queues, records, results, members of `celeriac.delayed`), never FLUSHDB.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Celeriac, createLogger, Worker } from '../../src/index';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { waitFor } from '../helpers/wait';
import { assertPythonCelery, cleanupRedis, PythonClient, recordKey, startPythonWorker, uniqueQueue, type InteropConfig, type PythonWorker } from './helpers/python';

const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_ETA_REDIS_URL ?? 'redis://127.0.0.1:6379/14';
const queue = uniqueQueue('interop-eta');
const config: InteropConfig = { brokerUrl: REDIS_URL, queue };
const records = recordKey(config);
const py = new PythonClient(config);
const redis = new Redis(REDIS_URL, { lazyConnect: true });
const apps: Celeriac[] = [];
const workers: Worker[] = [];
let pyWorker: PythonWorker | undefined;

function makeApp(): Celeriac {
  const app = new Celeriac({ brokerUrl: REDIS_URL, resultBackend: REDIS_URL, taskDefaultQueue: queue, taskDefaultExchange: queue, taskDefaultRoutingKey: queue, logger: createLogger('silent') });
  app.task('interop.record', async (token: string) => {
    await redis.rpush(records, token);
    return token;
  });
  apps.push(app);
  return app;
}

/** Members of `celeriac.delayed` bound for this run's queue. */
async function delayedForQueue(): Promise<string[]> {
  return (await redis.zrange('celeriac.delayed', 0, -1)).filter((m) => (JSON.parse(m) as { queue?: string }).queue === queue);
}

beforeAll(async () => {
  await assertPythonCelery();
  await redis.connect();
}, 30_000);

afterEach(async () => {
  await pyWorker?.stop();
  pyWorker = undefined;
  for (const w of workers.splice(0)) await w.close();
  for (const a of apps.splice(0)) await a.close();
}, 30_000);

afterAll(async () => {
  const leftover = await delayedForQueue().catch(() => []);
  if (leftover.length) await redis.zrem('celeriac.delayed', ...leftover);
  await cleanupRedis(REDIS_URL, { queues: [queue, `${queue}-mover`], taskIds: py.ids, keys: [records] });
  redis.disconnect();
});

test('a Python countdown task beyond our hold limit is deferred, not held, and runs once on our worker', async () => {
  const worker = new Worker(makeApp(), { queues: [queue], concurrency: 1, etaHoldLimit: 1, remoteControl: false });
  workers.push(worker);
  await worker.start();
  const token = randomUUID();
  const sending = py.send({ name: 'interop.record', args: [token], options: { countdown: 3 }, wait: 20 });
  await waitFor(async () => (await delayedForQueue()).length === 1, 10_000, 'the deferred message', 20);
  expect(worker.scheduledRequests()).toEqual([]);
  const report = await sending;
  expect(report).toMatchObject({ state: 'SUCCESS', result: token });
  expect(report.done_at).toBeGreaterThanOrEqual(report.sent_at! + 3 - 0.05);
  await waitFor(async () => (await redis.llen(records)) >= 1, 5000, 'the record');
  expect(await redis.lrange(records, 0, -1)).toEqual([token]);
  await redis.del(records);
}, 60_000);

test('mixed fleet: what our worker deferred is moved back by a Celeriac consumer and a Python worker runs each once', async () => {
  const worker = new Worker(makeApp(), { queues: [queue], concurrency: 1, etaHoldLimit: 1, remoteControl: false });
  workers.push(worker);
  await worker.start();
  const tokens = Array.from({ length: 5 }, () => randomUUID());
  const [first] = await py.sendMany(tokens.map((t) => ({ name: 'interop.record', args: [t], options: { countdown: 5 } })));
  const dueAt = first!.sent_at! + 5;
  await waitFor(async () => (await delayedForQueue()).length === 5, 10_000, 'five deferred messages', 20);
  expect(await redis.llen(queue)).toBe(0);
  // Our worker goes away holding nothing; only Python consumes the queue now, and a Celeriac consumer
  // of another queue moves the due messages (any consuming Celeriac broker does).
  await worker.close();
  pyWorker = await startPythonWorker(config);
  const mover = new RedisBroker({ url: REDIS_URL });
  await mover.connect();
  const sub = await mover.consume([`${queue}-mover`], () => undefined, { prefetch: 1 });
  try {
    await waitFor(async () => (await redis.llen(records)) >= 5, 30_000, 'five records', 50);
    expect(Date.now() / 1000).toBeGreaterThanOrEqual(dueAt - 0.05);
    await pyWorker.waitForOutput(/interop\.record\[[^\]]+\] succeeded/, 5000);
    expect((await redis.lrange(records, 0, -1)).sort()).toEqual([...tokens].sort());
    expect(await delayedForQueue()).toEqual([]);
  } finally {
    await sub.cancel();
    await mover.close();
  }
}, 90_000);
