// Python client → our Worker, over Redis. A real Celery 5.2.6 client (py/client.py under Debian's
// /usr/bin/python3, app py/celery_tasks.py) sends tasks by name; our Worker runs them; the Python
// client reads the results back through Celery's own Redis result backend.
//
// Setup: Redis DB 11 (broker and results) is this file's own (Celery 5.2.6's result backend has no key
// prefix); the queue is `interop-<random>` per run and every task id is fresh, so parallel runs do not
// meet. At the end only what this run created is deleted (result keys of its ids, its queue lists,
// its record list, its `_kombu.binding.*` members, its `unacked` entries): never FLUSHDB.
// Our worker runs with concurrency 1 and prefetch multiplier 1; the Python client is one process per
// call, so each call costs an interpreter start (~0.3 s): related sends are batched in one call.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Celeriac, createLogger, parseWireDate, Worker, type TaskContext, type WorkerEventMap } from '../../src/index';
import { assertPythonCelery, cleanupRedis, leftoverMessages, PythonClient, recordKey, uniqueQueue, type InteropConfig, type PyReport } from './helpers/python';

const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_PY_CLIENT_REDIS_URL ?? 'redis://127.0.0.1:6379/11';
const WAIT = 20; // seconds the Python client waits for a result

const queue = uniqueQueue('interop-pyclient');
const prioQueue = `${queue}-prio`;
const strictQueue = `${queue}-strict`;
const config: InteropConfig = { brokerUrl: REDIS_URL, queue };
const records = recordKey(config);
const py = new PythonClient(config);
const redis = new Redis(REDIS_URL, { lazyConnect: true });

/** A JS error class with no Python twin: Python rebuilds it as a synthetic class of the same name. */
class InteropError extends Error {}

/** Values our tasks received, by task name: shows what the decoder made of Python's arguments. */
const seen: Array<{ task: string; value: unknown }> = [];

const app = new Celeriac({
  brokerUrl: REDIS_URL,
  resultBackend: REDIS_URL,
  // As Celery names the exchange and routing key of task_default_queue after the queue.
  taskDefaultQueue: queue,
  taskDefaultExchange: queue,
  taskDefaultRoutingKey: queue,
  acceptContent: ['json', 'msgpack'],
  logger: createLogger('silent'),
});

app.task('interop.add', (x: number, y: number) => x + y); // parameter names inferred from the source
app.task('interop.echo', (value: unknown) => {
  seen.push({ task: 'interop.echo', value });
  return value;
});
app.task('interop.kwargs', (a: unknown, b: unknown = 2, c: unknown = 3) => ({ a, b, c }), { params: ['a', 'b', 'c'] });
app.task('interop.fail', (msg: string) => {
  throw new RangeError(msg);
});
app.task('interop.type_fail', (msg: string) => {
  throw new TypeError(msg);
});
app.task('interop.custom_fail', () => {
  throw new InteropError('custom failure');
});
app.task('interop.retry_once', function (this: TaskContext) {
  if (this.request.retries === 0) this.retry({ countdown: 1, exc: new Error('first attempt fails') });
  return this.request.retries;
});
app.task('interop.record', async (token: string) => {
  await redis.rpush(records, token);
  return token;
});
app.task('interop.bigint', () => 2n ** 53n + 1n);
app.task('interop.unicode', (s: string) => ({ value: s, length: [...s].length }));
app.task('interop.now', () => Date.now() / 1000);

type EventName = Exclude<keyof WorkerEventMap, 'error'>;
const EVENT_NAMES: EventName[] = ['task-received', 'task-started', 'task-succeeded', 'task-failed', 'task-retried', 'task-revoked', 'task-rejected'];

/** Records a worker's task events, and waits on them with a timeout. */
class EventLog {
  readonly events: Array<{ type: EventName; id: string | null; at: number; payload: unknown }> = [];
  private readonly waiters = new Set<() => void>();

  constructor(worker: Worker) {
    for (const type of EVENT_NAMES) {
      worker.on(type, (payload: { id: string | null }) => {
        this.events.push({ type, id: payload.id, at: Date.now(), payload });
        for (const w of [...this.waiters]) w();
      });
    }
  }

  of(id: string): EventName[] {
    return this.events.filter((e) => e.id === id).map((e) => e.type);
  }

  waitFor(type: EventName, id: string, timeoutMs = WAIT * 1000): Promise<void> {
    return this.waitUntil(() => this.events.some((e) => e.type === type && e.id === id), `${type} for ${id}`, timeoutMs);
  }

  waitUntil(predicate: () => boolean, what: string, timeoutMs = WAIT * 1000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}; events: ${JSON.stringify(this.events.map((e) => [e.type, e.id]))}`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }
}

let worker: Worker;
let log: EventLog;

beforeAll(async () => {
  await assertPythonCelery();
  await redis.connect();
  worker = new Worker(app, { queues: [queue], concurrency: 1, prefetchMultiplier: 1, hostname: 'celeriac-interop@%h' });
  log = new EventLog(worker);
  await worker.start();
});

afterAll(async () => {
  await worker?.close();
  await app.close();
  await cleanupRedis(REDIS_URL, { queues: [queue, prioQueue, strictQueue], taskIds: py.ids, keys: [records] });
  redis.disconnect();
});

/** Unix seconds of a date_done as Python parsed it (naive UTC). */
function pyDateDone(report: PyReport): number {
  expect(report.date_done).toEqual(expect.any(String));
  return parseWireDate(report.date_done!).getTime() / 1000;
}

test('positional args reach our task and Python reads the result', async () => {
  const report = await py.send({ name: 'interop.add', args: [2, 3], wait: WAIT });
  expect(report).toMatchObject({ state: 'SUCCESS', result: 5, result_type: 'int', timed_out: false });
  expect(log.of(report.id)).toEqual(['task-received', 'task-started', 'task-succeeded']);
  // date_done as Python reads it is the instant we stored (ms precision), between send and read.
  expect(pyDateDone(report)).toBeGreaterThanOrEqual(report.sent_at! - 0.002);
  expect(pyDateDone(report)).toBeLessThanOrEqual(report.done_at + 0.002);
});

test('Python kwargs reach our parameters by name (declared with params, or inferred)', async () => {
  const [declared, allKw, inferred] = await py.sendMany([
    { name: 'interop.kwargs', args: [1], kwargs: { c: 30 }, wait: WAIT },
    { name: 'interop.kwargs', kwargs: { a: 'x', b: 'y', c: 'z' }, wait: WAIT },
    { name: 'interop.add', kwargs: { y: 40, x: 2 }, wait: WAIT },
  ]);
  expect(declared).toMatchObject({ state: 'SUCCESS', result: { a: 1, b: 2, c: 30 } });
  expect(allKw).toMatchObject({ state: 'SUCCESS', result: { a: 'x', b: 'y', c: 'z' } });
  expect(inferred).toMatchObject({ state: 'SUCCESS', result: 42 });
});

test('countdown: the task runs after the delay, not before', async () => {
  const countdown = 2;
  const report = await py.send({ name: 'interop.now', options: { countdown }, wait: WAIT });
  expect(report.state).toBe('SUCCESS');
  const ranAt = report.result as number;
  // Python computes eta = now + countdown after sent_at was taken, so the run can only be later.
  expect(ranAt).toBeGreaterThanOrEqual(report.sent_at! + countdown - 0.05);
  expect(ranAt).toBeLessThan(report.sent_at! + countdown + 5);
  expect(log.of(report.id)).toContain('task-succeeded');
});

test('expires in the past: our worker stores REVOKED, Python reads TaskRevokedError', async () => {
  const report = await py.send({ name: 'interop.add', args: [1, 1], options: { expires: -10 }, wait: WAIT });
  expect(report).toMatchObject({ state: 'REVOKED', exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions', exc_message: ['expired'] });
  expect(log.of(report.id)).toEqual(['task-revoked']);
  const revoked = log.events.find((e) => e.id === report.id)!.payload as WorkerEventMap['task-revoked'][0];
  expect(revoked.expired).toBe(true);
});

test('errors thrown by our tasks: RangeError → ValueError, TypeError → TypeError, own class → synthetic class', async () => {
  const [range, type, custom] = await py.sendMany([
    { name: 'interop.fail', args: ['boom'], wait: WAIT },
    { name: 'interop.type_fail', args: ['bad type'], wait: WAIT },
    { name: 'interop.custom_fail', wait: WAIT },
  ]);
  expect(range).toMatchObject({ state: 'FAILURE', exc_type: 'ValueError', exc_module: 'builtins', exc_message: ['boom'], result_repr: "ValueError('boom')" });
  expect(range!.traceback).toContain('RangeError: boom');
  expect(type).toMatchObject({ state: 'FAILURE', exc_type: 'TypeError', exc_module: 'builtins', exc_message: ['bad type'] });
  // exc_module "node" is not importable: Celery makes a class of that name in celery.exceptions.
  expect(custom).toMatchObject({ state: 'FAILURE', exc_type: 'InteropError', exc_module: 'celery.exceptions', exc_message: ['custom failure'] });
  for (const r of [range, type, custom]) expect(log.of(r!.id)).toContain('task-failed');
});

test('this.retry({ countdown: 1 }) driven by a Python client: RETRY, then SUCCESS with retries=1, same id', async () => {
  const report = await py.send({ name: 'interop.retry_once', wait: WAIT });
  expect(report).toMatchObject({ state: 'SUCCESS', result: 1 });
  expect(report.states).toContain('RETRY');
  expect(report.states.indexOf('RETRY')).toBeLessThan(report.states.lastIndexOf('SUCCESS'));
  expect(report.done_at - report.sent_at!).toBeGreaterThanOrEqual(1 - 0.05);
  expect(log.of(report.id)).toEqual(['task-received', 'task-started', 'task-retried', 'task-received', 'task-started', 'task-succeeded']);
});

// Kombu keeps four buckets per queue (priorities 0-2, 3-5, 6-8, 9; 0 served first) and FIFO inside a
// bucket, so 5 and 3 (both in bucket 3-5) keep their sending order: 9, 0, 5, 3, 7 run as 0, 5, 3, 7, 9.
test('priority on Redis: tasks queued as 9, 0, 5, 3, 7 before the worker starts run in Kombu bucket order 0, 5, 3, 7, 9', async () => {
  const priorities = [9, 0, 5, 3, 7];
  const tag = randomUUID().slice(0, 8);
  const sent = await py.sendMany(priorities.map((p) => ({ name: 'interop.record', args: [`${tag}-p${p}`], options: { queue: prioQueue, priority: p } })));
  const prioWorker = new Worker(app, { queues: [prioQueue], concurrency: 1, prefetchMultiplier: 1, hostname: 'celeriac-prio@%h' });
  const prioLog = new EventLog(prioWorker);
  try {
    await prioWorker.start();
    await prioLog.waitUntil(() => sent.every((s) => prioLog.of(s.id).includes('task-succeeded')), 'the priority tasks');
  } finally {
    await prioWorker.close();
  }
  const order = (await redis.lrange(records, 0, -1)).filter((t) => t.startsWith(`${tag}-`));
  expect(order).toEqual([0, 5, 3, 7, 9].map((p) => `${tag}-p${p}`));
  expect(await py.result(sent[0]!.id)).toMatchObject({ state: 'SUCCESS', result: `${tag}-p9` });
});

test('ignore_result from Python: the task runs, nothing is stored', async () => {
  const token = `ignored-${randomUUID()}`;
  const { id } = await py.send({ name: 'interop.record', args: [token], options: { ignore_result: true } });
  await log.waitFor('task-succeeded', id);
  expect(await redis.lrange(records, 0, -1)).toContain(token);
  expect(await redis.exists(`celery-task-meta-${id}`)).toBe(0);
  expect(await py.result(id)).toMatchObject({ state: 'PENDING', result: null });
});

test('unicode text and integers beyond 2^53 survive both ways (BigInt on our side)', async () => {
  const text = 'héllo wörld — 日本語のテキスト 中文 한국어 🎉👩‍💻 ñ ç ø';
  const big = 2n ** 53n + 1n;
  const [uni, echoed, fromUs] = await py.sendMany([
    { name: 'interop.unicode', args: [text], wait: WAIT },
    { name: 'interop.echo', args: [big], wait: WAIT },
    { name: 'interop.bigint', wait: WAIT },
  ]);
  expect(uni).toMatchObject({ state: 'SUCCESS', result: { value: text, length: [...text].length } });
  expect(seen.find((s) => s.task === 'interop.echo' && typeof s.value === 'bigint')?.value).toBe(big);
  expect(echoed).toMatchObject({ state: 'SUCCESS', result: big, result_type: 'int', result_repr: '9007199254740993' });
  expect(fromUs).toMatchObject({ state: 'SUCCESS', result: big, result_type: 'int', result_repr: '9007199254740993' });
});

test('msgpack from the Python client is accepted with acceptContent [json, msgpack]', async () => {
  const big = 2n ** 53n + 1n;
  const value = { text: 'é 🎉 日本', n: big, small: -7, f: 1.5, list: [1, 'two', null, true] };
  const before = seen.length;
  const [sum, echoed] = await py.sendMany([
    { name: 'interop.add', args: [2, 3], options: { serializer: 'msgpack' }, wait: WAIT },
    { name: 'interop.echo', args: [value], options: { serializer: 'msgpack' }, wait: WAIT },
  ]);
  expect(sum).toMatchObject({ state: 'SUCCESS', result: 5 });
  expect(seen.slice(before)).toEqual([{ task: 'interop.echo', value }]);
  expect(echoed).toMatchObject({ state: 'SUCCESS', result: value });
});

test('an unknown task name: NotRegistered FAILURE that Python reads, and the worker keeps working', async () => {
  const [unknown, after] = await py.sendMany([
    { name: 'interop.not_registered_anywhere', args: [1], wait: WAIT },
    { name: 'interop.add', args: [20, 22], wait: WAIT },
  ]);
  expect(unknown).toMatchObject({
    state: 'FAILURE',
    exc_type: 'NotRegistered',
    exc_module: 'celery.exceptions',
    exc_message: ['interop.not_registered_anywhere'],
  });
  expect(log.of(unknown!.id)).toEqual(['task-rejected', 'task-failed']);
  expect(after).toMatchObject({ state: 'SUCCESS', result: 42 });
});

describe('a content type the worker does not accept (msgpack to a worker with acceptContent [json])', () => {
  let rejected: PyReport;
  let accepted: PyReport;
  let strictLog: EventLog;

  beforeAll(async () => {
    const strict = new Celeriac({
      brokerUrl: REDIS_URL,
      resultBackend: REDIS_URL,
      taskDefaultQueue: strictQueue,
      taskDefaultExchange: strictQueue,
      taskDefaultRoutingKey: strictQueue,
      acceptContent: ['json'],
      logger: createLogger('silent'),
    });
    strict.task('interop.add', (x: number, y: number) => x + y);
    const strictWorker = new Worker(strict, { queues: [strictQueue], concurrency: 1, prefetchMultiplier: 1, hostname: 'celeriac-strict@%h' });
    strictLog = new EventLog(strictWorker);
    try {
      await strictWorker.start();
      [rejected, accepted] = (await py.sendMany([
        { name: 'interop.add', args: [1, 2], options: { queue: strictQueue, serializer: 'msgpack' }, wait: WAIT },
        { name: 'interop.add', args: [3, 4], options: { queue: strictQueue }, wait: WAIT },
      ])) as [PyReport, PyReport];
    } finally {
      await strictWorker.close();
      await strict.close();
    }
  });

  test('is rejected with a FAILURE that Python reads, and the next JSON message runs', () => {
    expect(strictLog.of(rejected.id)).toEqual(['task-rejected']);
    expect(rejected).toMatchObject({ state: 'FAILURE', exc_type: 'ContentDisallowedError', exc_module: 'celery.exceptions' });
    expect(rejected.exc_message).toEqual([expect.stringContaining('application/x-msgpack')]);
    expect(accepted).toMatchObject({ state: 'SUCCESS', result: 7 });
  });

  // date_done must carry 6 fraction digits: Celery reads the fraction as microseconds (Gotcha 3).
  test('its date_done, as Python reads it, is the instant it was stored', () => {
    expect(pyDateDone(rejected)).toBeGreaterThanOrEqual(rejected.sent_at! - 0.002);
    expect(pyDateDone(rejected)).toBeLessThanOrEqual(rejected.done_at + 0.002);
  });
});

test('every message was taken once and acknowledged: nothing left waiting or unacked', async () => {
  expect(await leftoverMessages(REDIS_URL, [queue, prioQueue, strictQueue])).toEqual({ waiting: 0, unacked: 0 });
});
