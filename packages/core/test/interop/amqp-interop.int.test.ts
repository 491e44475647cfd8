// Celery 5.2.6 (Debian's /usr/bin/python3) and Celeriac sharing RabbitMQ, both ways: our client to a
// Python worker, a Python client to our worker. Both sides declare the same queues (any difference
// would be a 406), and our header tables must parse in py-amqp (Gotcha 2: timelimit [300, 200] is
// int16 to a naive amqplib client, which makes the Python worker drop its connection in a loop).
//
// Setup: a RabbitMQ vhost of this file's own (deleted afterwards); results in Redis DB 9, where only
// this run's result keys and record list are deleted at the end. Queues are unique per run.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Celeriac, TaskRevokedError, Worker, createLogger, type Task } from '../../src/index';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';
import { PY_DIR, PYTHON, PythonClient, assertPythonCelery, cleanupRedis, pythonEnv, startPythonWorker, uniqueQueue, type InteropConfig, type PythonWorker } from './helpers/python';

const run = promisify(execFile);

const REDIS_URL = process.env.CELERIAC_TEST_AMQP_INTEROP_REDIS_URL ?? 'redis://127.0.0.1:6379/9';
const TIMEOUT = 20_000;

const pyQueue = uniqueQueue('amqp-pyworker');
const nodeQueue = uniqueQueue('amqp-nodeworker');
const ids = new Set<string>();
let vhost: TestVhost;
let pyWorker: PythonWorker | undefined;
let client: Celeriac;
let server: Celeriac;
let worker: Worker;
let py: PythonClient;

/** An app whose default queue is `queue`, named as Celery names its exchange and routing key. */
function makeApp(queue: string): Celeriac {
  return new Celeriac({
    brokerUrl: vhost.url,
    resultBackend: REDIS_URL,
    taskDefaultQueue: queue,
    taskDefaultExchange: queue,
    taskDefaultRoutingKey: queue,
    logger: createLogger('silent'),
  });
}

beforeAll(async () => {
  await assertPythonCelery();
  vhost = await createTestVhost('amqp-interop');
  const pyConfig: InteropConfig = { brokerUrl: vhost.url, backendUrl: REDIS_URL, queue: pyQueue };
  pyWorker = await startPythonWorker(pyConfig);
  client = makeApp(pyQueue);
  server = makeApp(nodeQueue);
  server.task('interop.add', async (x: number, y: number) => x + y);
  server.task('interop.echo', async (value: unknown) => value);
  server.task('interop.kwargs', async (a: number, b: number = 2, c: number = 3) => ({ a, b, c }));
  server.task('interop.fail', async (msg: string) => {
    throw new RangeError(msg);
  });
  worker = new Worker(server, { concurrency: 2, hostname: 'node@amqp-interop' });
  await worker.start();
  py = new PythonClient({ brokerUrl: vhost.url, backendUrl: REDIS_URL, queue: nodeQueue });
}, 90_000);

afterAll(async () => {
  await pyWorker?.stop();
  await worker?.close();
  await Promise.all([client?.close(), server?.close()]);
  await cleanupRedis(REDIS_URL, { queues: [], taskIds: [...ids, ...py.ids] });
  await vhost?.delete();
}, 60_000);

describe('Celeriac client -> Python worker over RabbitMQ', () => {
  it('runs tasks whose headers carry int16-range integers, retries included', async () => {
    const add = client.taskRef<Task<[number, number], number>>('interop.add');
    const taskId = randomUUID();
    ids.add(taskId);
    const result = await add.applyAsync([200, 300], { taskId, timeLimit: 300, softTimeLimit: 200 });
    await expect(result.get({ timeout: TIMEOUT })).resolves.toBe(500);
    const retryId = randomUUID();
    ids.add(retryId);
    const retried = await client.taskRef<Task<[], number>>('interop.retry_once').applyAsync([], { taskId: retryId });
    await expect(retried.get({ timeout: TIMEOUT })).resolves.toBe(1);
    expect(pyWorker!.output()).not.toMatch(/FrameSyntaxError|Unrecoverable error|Connection to broker lost/);
    // Python's worker and our client declared the queue the same way
    expect((await listQueues(vhost.name)).find((q) => q.name === pyQueue)).toMatchObject({ durable: true, auto_delete: false, arguments: {} });
  });
});

describe('Python client -> Celeriac worker over RabbitMQ', () => {
  it('runs tasks sent by Celery, with a countdown too, results readable from Python', async () => {
    const [now, later] = await py.sendMany([
      { name: 'interop.add', args: [2, 3], wait: 20 },
      { name: 'interop.echo', args: [{ n: 500, list: [1, 'x', null] }], options: { countdown: 1 }, wait: 20 },
    ]);
    expect(now).toMatchObject({ state: 'SUCCESS', result: 5 });
    expect(later).toMatchObject({ state: 'SUCCESS', result: { n: 500, list: [1, 'x', null] } });
    expect(await server.broker.queueLength(nodeQueue)).toBe(0);
  });
});

describe('remote control over RabbitMQ (celery.pidbox and reply.celery.pidbox as Kombu declares them)', () => {
  const pyControl = async (...args: string[]): Promise<unknown> => {
    const { stdout } = await run(PYTHON, [path.join(PY_DIR, 'control_peer.py'), vhost.url, ...args], { env: pythonEnv({ brokerUrl: vhost.url, queue: nodeQueue }), timeout: 30_000 });
    return JSON.parse(stdout.trim().split('\n').at(-1)!);
  };

  it('a Python client pings, inspects and revokes on our worker', async () => {
    await expect(pyControl('ping', 'node@amqp-interop')).resolves.toEqual([{ 'node@amqp-interop': { ok: 'pong' } }]);
    const registered = (await pyControl('inspect', 'registered', 'node@amqp-interop')) as Record<string, string[]>;
    expect(registered['node@amqp-interop']).toEqual(['interop.add', 'interop.echo', 'interop.fail', 'interop.kwargs']);
    const id = randomUUID();
    ids.add(id);
    await expect(pyControl('revoke', id, 'node@amqp-interop')).resolves.toEqual([{ 'node@amqp-interop': { ok: `tasks ${id} flagged as revoked` } }]);
    const r = await client.sendTask('interop.add', [1, 1], {}, { taskId: id, queue: nodeQueue });
    await expect(r.get({ timeout: TIMEOUT })).rejects.toBeInstanceOf(TaskRevokedError);
  }, 60_000);

  it('our client pings, inspects and revokes on a Python worker', async () => {
    const pyNode = pyWorker!.nodename.replace('%h', hostname());
    await expect(client.control.ping({ destination: [pyNode], timeout: 5 })).resolves.toEqual([{ [pyNode]: { ok: 'pong' } }]);
    const registered = await client.control.inspect({ destination: [pyNode], timeout: 5 }).registered();
    expect(registered![pyNode]).toEqual(expect.arrayContaining(['interop.add']));
    const id = randomUUID();
    ids.add(id);
    await expect(client.control.revoke(id, { destination: [pyNode], reply: true, timeout: 5 })).resolves.toEqual([{ [pyNode]: { ok: `tasks ${id} flagged as revoked` } }]);
    const r = await client.sendTask('interop.add', [1, 1], {}, { taskId: id });
    await expect(r.get({ timeout: TIMEOUT })).rejects.toBeInstanceOf(TaskRevokedError);
    // Python's and our declarations of the pidbox entities agree (no 406 closed anything).
    expect(pyWorker!.output()).not.toMatch(/PRECONDITION_FAILED|inequivalent/);
  }, 60_000);
});

describe('rpc:// results over RabbitMQ', () => {
  it('our client gets our worker\'s result; a Python rpc client gets it too', async () => {
    const rpcServer = new Celeriac({ brokerUrl: vhost.url, resultBackend: 'rpc://', taskDefaultQueue: `${nodeQueue}-rpc`, taskDefaultExchange: `${nodeQueue}-rpc`, taskDefaultRoutingKey: `${nodeQueue}-rpc`, logger: createLogger('silent') });
    rpcServer.task('interop.add', async (x: number, y: number) => x + y);
    const rpcWorker = new Worker(rpcServer, { concurrency: 2, hostname: 'node-rpc@amqp-interop' });
    await rpcWorker.start();
    const rpcClient = new Celeriac({ brokerUrl: vhost.url, resultBackend: 'rpc://', taskDefaultQueue: `${nodeQueue}-rpc`, taskDefaultExchange: `${nodeQueue}-rpc`, taskDefaultRoutingKey: `${nodeQueue}-rpc`, logger: createLogger('silent') });
    try {
      const add = rpcClient.taskRef<Task<[number, number], number>>('interop.add');
      const results = await Promise.all([add.delay(1, 2), add.delay(3, 4), add.delay(5, 6)]);
      await expect(Promise.all(results.map((r) => r.get({ timeout: TIMEOUT })))).resolves.toEqual([3, 7, 11]);
      const pyRpc = new PythonClient({ brokerUrl: vhost.url, backendUrl: 'rpc://', queue: `${nodeQueue}-rpc` });
      await expect(pyRpc.send({ name: 'interop.add', args: [20, 22], wait: 20 })).resolves.toMatchObject({ state: 'SUCCESS', result: 42 });
    } finally {
      await rpcWorker.close();
      await rpcServer.close();
      await rpcClient.close();
    }
  }, 60_000);

  it('a Python worker with the rpc backend answers our client', async () => {
    const queue = uniqueQueue('amqp-pyrpc');
    const pyRpcWorker = await startPythonWorker({ brokerUrl: vhost.url, backendUrl: 'rpc://', queue });
    const rpcClient = new Celeriac({ brokerUrl: vhost.url, resultBackend: 'rpc://', taskDefaultQueue: queue, taskDefaultExchange: queue, taskDefaultRoutingKey: queue, logger: createLogger('silent') });
    try {
      const add = rpcClient.taskRef<Task<[number, number], number>>('interop.add');
      await expect((await add.delay(40, 2)).get({ timeout: TIMEOUT })).resolves.toBe(42);
      const fail = rpcClient.taskRef<Task<[string], unknown>>('interop.fail');
      await expect((await fail.delay('over rpc')).get({ timeout: TIMEOUT })).rejects.toMatchObject({ excType: 'ValueError', excMessage: ['over rpc'] });
    } finally {
      await rpcClient.close();
      await pyRpcWorker.stop();
    }
  }, 90_000);
});

describe('more calls over RabbitMQ', () => {
  it('a Python client\'s kwargs reach our task; our failure reads in Python as the builtin exception', async () => {
    const [kw, failed] = await py.sendMany([
      { name: 'interop.kwargs', args: [1], kwargs: { c: 30 }, wait: 20 },
      { name: 'interop.fail', args: ['from node'], wait: 20 },
    ]);
    expect(kw).toMatchObject({ state: 'SUCCESS', result: { a: 1, b: 2, c: 30 } });
    expect(failed).toMatchObject({ state: 'FAILURE', exc_type: 'ValueError', exc_module: 'builtins', exc_message: ['from node'] });
  });

  it('priority on an x-max-priority queue: queued 0, 9, 5, 2, 7 before a Python worker started, run 9, 7, 5, 2, 0', async () => {
    const queue = uniqueQueue('amqp-prio');
    const config: InteropConfig = { brokerUrl: vhost.url, backendUrl: REDIS_URL, queue, maxPriority: 9 };
    const app = new Celeriac({ brokerUrl: vhost.url, resultBackend: REDIS_URL, taskDefaultQueue: queue, taskDefaultExchange: queue, taskDefaultRoutingKey: queue, taskQueueMaxPriority: 9, logger: createLogger('silent') });
    const tag = randomUUID().slice(0, 8);
    const record = app.taskRef<Task<[string], string>>('interop.record');
    const results = [];
    for (const p of [0, 9, 5, 2, 7]) {
      const taskId = randomUUID();
      ids.add(taskId);
      results.push(await record.applyAsync([`${tag}-p${p}`], { priority: p, taskId }));
    }
    const worker = await startPythonWorker(config);
    const redis = new (await import('ioredis')).Redis(REDIS_URL);
    try {
      for (const r of results) await r.get({ timeout: TIMEOUT });
      const order = (await redis.lrange(`${queue}:record`, 0, -1)).filter((t) => t.startsWith(`${tag}-`));
      expect(order).toEqual([9, 7, 5, 2, 0].map((p) => `${tag}-p${p}`));
      expect(worker.output()).not.toMatch(/PRECONDITION_FAILED|inequivalent/);
    } finally {
      await redis.del(`${queue}:record`);
      redis.disconnect();
      await worker.stop();
      await app.close();
    }
  }, 60_000);
});
