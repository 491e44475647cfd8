// Our client → a real Python worker, over Redis. Celeriac publishes tasks by name (sendTask /
// taskRef().applyAsync); a Celery 5.2.6 worker (`celery -A celery_tasks worker -c 1`, Debian's
// /usr/bin/python3, app py/celery_tasks.py) runs them; we read the results it stored.
//
// Setup: Redis DB 12 (broker and results) is this file's own (Celery 5.2.6's result backend has no key
// prefix); the queue is `interop-pyworker-<random>` per run and every task id is fresh. The Python
// worker is started once, in beforeAll, after the priority tasks were queued (so it finds all of them
// waiting), and stopped with SIGTERM in afterAll (SIGKILL if it does not exit). At the end only what
// this run created is deleted (result keys of its ids, its queue lists, its record list, its
// `_kombu.binding.*` members, its `unacked` entries): never FLUSHDB.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Celeriac, createLogger, RemoteTaskError, TaskRevokedError, type AsyncResult, type ApplyOptions, type ResultMeta, type Task } from '../../src/index';
import { assertPythonCelery, cleanupRedis, leftoverMessages, recordKey, startPythonWorker, uniqueQueue, type InteropConfig, type PythonWorker } from './helpers/python';

const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_PY_WORKER_REDIS_URL ?? 'redis://127.0.0.1:6379/12';
const TIMEOUT = 20_000; // ms we wait for a result

const queue = uniqueQueue('interop-pyworker');
const config: InteropConfig = { brokerUrl: REDIS_URL, queue };
const records = recordKey(config);
const redis = new Redis(REDIS_URL, { lazyConnect: true });
const ids = new Set<string>();

const app = new Celeriac({
  brokerUrl: REDIS_URL,
  resultBackend: REDIS_URL,
  // As Celery names the exchange and routing key of task_default_queue after the queue.
  taskDefaultQueue: queue,
  taskDefaultExchange: queue,
  taskDefaultRoutingKey: queue,
  logger: createLogger('silent'),
});

/** sendTask, remembering the id for cleanup. */
async function send<T = unknown>(name: string, args: unknown[] = [], options: ApplyOptions = {}): Promise<AsyncResult<T>> {
  const taskId = options.taskId ?? randomUUID();
  ids.add(taskId);
  return app.sendTask<T>(name, args, {}, { ...options, taskId });
}

/** The error a result's get() throws. */
async function failureOf(result: AsyncResult): Promise<unknown> {
  try {
    await result.get({ timeout: TIMEOUT });
  } catch (err) {
    return err;
  }
  throw new Error(`Task ${result.id} succeeded; a failure was expected.`);
}

// Queued before the worker starts (beforeAll): Kombu's buckets are 0-2, 3-5, 6-8, 9, served in that
// order, FIFO inside a bucket, so 9, 0, 5, 3, 7 run as 0, 5, 3, 7, 9 (5 and 3 share a bucket).
const PRIORITIES = [9, 0, 5, 3, 7];
const priorityTag = randomUUID().slice(0, 8);
const priorityResults: AsyncResult[] = [];

let pyWorker: PythonWorker | undefined;

beforeAll(async () => {
  await assertPythonCelery();
  await redis.connect();
  for (const p of PRIORITIES) priorityResults.push(await send('interop.record', [`${priorityTag}-p${p}`], { priority: p }));
  pyWorker = await startPythonWorker(config);
}, 60_000);

afterAll(async () => {
  await pyWorker?.stop();
  await app.close();
  await cleanupRedis(REDIS_URL, { queues: [queue], taskIds: ids, keys: [records] });
  redis.disconnect();
}, 60_000);

test('positional args reach the Python task and we read its result', async () => {
  const result = await send<number>('interop.add', [2, 3]);
  expect(await result.get({ timeout: TIMEOUT })).toBe(5);
  expect(await result.state()).toBe('SUCCESS');
});

test('applyAsync([], { kwargs }) reaches Python kwargs, keyword-only ones included', async () => {
  const kw = app.taskRef<Task<[a?: unknown, b?: unknown], Record<string, unknown>>>('interop.kwargs');
  const taskId1 = randomUUID();
  const taskId2 = randomUUID();
  ids.add(taskId1).add(taskId2);
  const onlyKw = await kw.applyAsync([], { kwargs: { a: 1, c: 30 }, taskId: taskId1 }); // c is keyword-only in Python
  const mixed = await kw.applyAsync([1], { kwargs: { b: 'bee' }, taskId: taskId2 });
  expect(await onlyKw.get({ timeout: TIMEOUT })).toEqual({ a: 1, b: 2, c: 30 });
  expect(await mixed.get({ timeout: TIMEOUT })).toEqual({ a: 1, b: 'bee', c: 3 });
});

test('countdown: the Python worker runs the task after the delay, not before', async () => {
  const countdown = 2;
  const sentAt = Date.now() / 1000;
  const result = await send<number>('interop.now', [], { countdown });
  const ranAt = await result.get({ timeout: TIMEOUT });
  // Our eta is computed after sentAt; 0.1 s covers timer granularity on the Python side.
  expect(ranAt).toBeGreaterThanOrEqual(sentAt + countdown - 0.1);
  expect(ranAt).toBeLessThan(sentAt + countdown + 5);
});

test('expires in the past: the Python worker stores REVOKED, we read TaskRevokedError', async () => {
  const result = await send('interop.add', [1, 1], { expires: -10 });
  const err = await failureOf(result);
  expect(err).toBeInstanceOf(TaskRevokedError);
  expect((err as TaskRevokedError).reason).toBe('expired');
  const meta = await result.meta();
  expect(meta).toMatchObject({ status: 'REVOKED', result: { exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions', exc_message: ['expired'] } });
});

test('Python exceptions arrive as RemoteTaskError with type, message, module and the Python traceback', async () => {
  const valueError = await failureOf(await send('interop.fail', ['boom']));
  expect(valueError).toBeInstanceOf(RemoteTaskError);
  expect(valueError).toMatchObject({ excType: 'ValueError', excMessage: ['boom'], excModule: 'builtins' });
  const traceback = (valueError as RemoteTaskError).traceback ?? '';
  expect(traceback).toContain('Traceback (most recent call last):');
  expect(traceback).toMatch(/celery_tasks\.py", line \d+, in fail/);
  expect(traceback).toContain('ValueError: boom');

  const custom = await failureOf(await send('interop.custom_fail'));
  expect(custom).toBeInstanceOf(RemoteTaskError);
  expect(custom).toMatchObject({ excType: 'InteropError', excMessage: ['custom failure', 42], excModule: 'celery_tasks' });
  expect((custom as RemoteTaskError).traceback).toContain("celery_tasks.InteropError: ('custom failure', 42)");
});

test('a Python bind=True task retrying with countdown=1: RETRY, then SUCCESS with retries=1, same id', async () => {
  const result = await send<number>('interop.retry_once');
  const seen: ResultMeta[] = [];
  const startedAt = Date.now();
  expect(await result.get({ timeout: TIMEOUT, onMessage: (m) => seen.push(m) })).toBe(1);
  expect(Date.now() - startedAt).toBeGreaterThanOrEqual(950);
  const retry = seen.find((m) => m.status === 'RETRY');
  expect(retry).toMatchObject({ taskId: result.id, result: { exc_type: 'KeyError', exc_module: 'builtins', exc_message: ['first attempt fails'] } });
  expect(await result.meta()).toMatchObject({ taskId: result.id, status: 'SUCCESS', result: 1 });
});

test('priority on Redis: tasks queued as 9, 0, 5, 3, 7 before the Python worker started ran as 0, 5, 3, 7, 9', async () => {
  for (const r of priorityResults) await r.get({ timeout: TIMEOUT });
  const order = (await redis.lrange(records, 0, -1)).filter((t) => t.startsWith(`${priorityTag}-`));
  expect(order).toEqual([0, 5, 3, 7, 9].map((p) => `${priorityTag}-p${p}`));
});

test('ignoreResult: the Python worker runs the task and stores nothing', async () => {
  const token = `ignored-${randomUUID()}`;
  const ignored = await send('interop.record', [token], { ignoreResult: true });
  // The worker runs one task at a time (-c 1, prefetch 1): once the next one's result is in, the
  // ignored task has finished, storing included.
  expect(await (await send('interop.add', [0, 0])).get({ timeout: TIMEOUT })).toBe(0);
  expect(await redis.lrange(records, 0, -1)).toContain(token);
  expect(await redis.exists(`celery-task-meta-${ignored.id}`)).toBe(0);
  expect(await ignored.state()).toBe('PENDING');
});

test('unicode text and integers beyond 2^53 survive both ways (BigInt on our side, int in Python)', async () => {
  const text = 'héllo wörld — 日本語のテキスト 中文 한국어 🎉👩‍💻 ñ ç ø';
  const big = 2n ** 53n + 1n;
  const uni = await send('interop.unicode', [text]);
  const described = await send('interop.describe', [big]);
  const echoed = await send('interop.echo', [{ big, list: [big, -big] }]);
  const fromPython = await send('interop.bigint');
  expect(await uni.get({ timeout: TIMEOUT })).toEqual({ value: text, length: [...text].length });
  expect(await described.get({ timeout: TIMEOUT })).toEqual({ type: 'int', repr: '9007199254740993' });
  expect(await echoed.get({ timeout: TIMEOUT })).toEqual({ big, list: [big, -big] });
  expect(await fromPython.get({ timeout: TIMEOUT })).toBe(big);
});

test('msgpack from our client is accepted by the Python worker (accept_content json, msgpack)', async () => {
  const value = { text: 'é 🎉 日本', n: 2n ** 53n + 1n, small: -7, f: 1.5, list: [1, 'two', null, true] };
  const echoed = await send('interop.echo', [value], { serializer: 'msgpack' });
  expect(await echoed.get({ timeout: TIMEOUT })).toEqual(value);
  const described = await send('interop.describe', [2n ** 53n + 1n], { serializer: 'msgpack' });
  expect(await described.get({ timeout: TIMEOUT })).toEqual({ type: 'int', repr: '9007199254740993' });
});

test('every message was taken once and acknowledged: nothing left waiting or unacked', async () => {
  expect(await leftoverMessages(REDIS_URL, [queue])).toEqual({ waiting: 0, unacked: 0 });
});
