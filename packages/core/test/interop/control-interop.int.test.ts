// Remote control between Node and Python Celery 5.2.6 over Redis (celery-wire.md §7): a Python client
// pings, inspects and revokes on our worker; our client pings, inspects and revokes on a Python worker.
//
// Setup: Redis DB 8 is this file's own (pidbox broadcasts reach every worker of a database, so no other
// test may use it); the task queue is `interop-control-<random>`; every command names its destination.
// Cleanup: only what this run created (result keys of its ids, its queues, reply bindings) is deleted.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Celeriac, TaskRevokedError, Worker, createLogger } from '../../src/index';
import { PY_DIR, PYTHON, assertPythonCelery, cleanupRedis, pythonEnv, startPythonWorker, uniqueQueue, type PythonWorker } from './helpers/python';

const run = promisify(execFile);
const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_CONTROL_REDIS_URL ?? 'redis://127.0.0.1:6379/8';
const queue = uniqueQueue('interop-control');
const nodeName = `node-${randomBytes(3).toString('hex')}@${hostname()}`;
const ids = new Set<string>();

const app = new Celeriac({ brokerUrl: REDIS_URL, resultBackend: REDIS_URL, taskDefaultQueue: queue, taskDefaultExchange: queue, taskDefaultRoutingKey: queue, logger: createLogger('silent') });
let runs = 0;
app.task('interop.add', async (x: number, y: number) => {
  runs++;
  return x + y;
});
const worker = new Worker(app, { hostname: nodeName, concurrency: 2 });
let py: PythonWorker;
let pyNode: string;

/** Runs control_peer.py and parses its JSON output. */
async function pyControl(...args: string[]): Promise<unknown> {
  const { stdout } = await run(PYTHON, [path.join(PY_DIR, 'control_peer.py'), REDIS_URL, ...args], { env: pythonEnv({ brokerUrl: REDIS_URL, queue }), timeout: 30_000 });
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

beforeAll(async () => {
  await assertPythonCelery();
  await worker.start();
  // The Python worker consumes a queue of its own: only control messages concern both.
  py = await startPythonWorker({ brokerUrl: REDIS_URL, queue: `${queue}-py` });
  pyNode = py.nodename.replace('%h', hostname());
}, 60_000);

afterAll(async () => {
  await py?.stop();
  await worker.close();
  await app.close();
  await cleanupRedis(REDIS_URL, { queues: [queue, `${queue}-py`], taskIds: ids, keys: [] });
}, 60_000);

test('a Python client pings our worker', async () => {
  await expect(pyControl('ping', nodeName)).resolves.toEqual([{ [nodeName]: { ok: 'pong' } }]);
}, 30_000);

test('a Python client inspects our worker (registered, stats, active)', async () => {
  const registered = (await pyControl('inspect', 'registered', nodeName)) as Record<string, string[]>;
  expect(registered[nodeName]).toEqual(['interop.add']);
  const stats = (await pyControl('inspect', 'stats', nodeName)) as Record<string, { pid: number }>;
  expect(stats[nodeName]!.pid).toBe(process.pid);
  await expect(pyControl('inspect', 'active', nodeName)).resolves.toEqual({ [nodeName]: [] });
}, 30_000);

test('a task a Python client revoked never runs on our worker', async () => {
  const id = randomUUID();
  ids.add(id);
  const replies = await pyControl('revoke', id, nodeName);
  expect(replies).toEqual([{ [nodeName]: { ok: `tasks ${id} flagged as revoked` } }]);
  const before = runs;
  const r = await app.sendTask('interop.add', [1, 2], {}, { taskId: id });
  await expect(r.get({ timeout: 10_000 })).rejects.toBeInstanceOf(TaskRevokedError);
  expect(runs).toBe(before);
}, 30_000);

test('our client pings and inspects a Python worker', async () => {
  await expect(app.control.ping({ destination: [pyNode], timeout: 5 })).resolves.toEqual([{ [pyNode]: { ok: 'pong' } }]);
  const registered = await app.control.inspect({ destination: [pyNode], timeout: 5 }).registered();
  expect(registered![pyNode]).toEqual(expect.arrayContaining(['interop.add', 'interop.fail']));
}, 30_000);

test('a task we revoked never runs on a Python worker', async () => {
  const id = randomUUID();
  ids.add(id);
  const replies = await app.control.revoke(id, { destination: [pyNode], reply: true, timeout: 5 });
  expect(replies).toEqual([{ [pyNode]: { ok: `tasks ${id} flagged as revoked` } }]);
  const r = await app.sendTask('interop.add', [1, 2], {}, { taskId: id, queue: `${queue}-py` });
  await expect(r.get({ timeout: 15_000 })).rejects.toBeInstanceOf(TaskRevokedError);
}, 30_000);

test('our reply binding is gone after each command (no leak in _kombu.binding.reply.celery.pidbox)', async () => {
  await app.control.ping({ destination: [nodeName], timeout: 1 });
  const redis = new Redis(REDIS_URL);
  const members = await redis.smembers('_kombu.binding.reply.celery.pidbox');
  redis.disconnect();
  expect(members.filter((m) => m.includes(app.oid))).toEqual([]);
});
