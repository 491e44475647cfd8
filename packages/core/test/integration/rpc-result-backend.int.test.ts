/**
 * The rpc:// result backend against real RabbitMQ: states travel as messages to the client's reply
 * queue (named after its oid, declared as Celery declares it), matched by correlation id; a real
 * Python Celery 5.2.6 rpc backend reads what we send and we read what it sends.
 *
 * Isolation: a vhost of this file's own, deleted afterwards.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import { ConfigError, GroupResult, Celeriac, createLogger, chord } from '../../src';
import { RpcResultBackend } from '../../src/backends/rpc/rpc-result-backend';
import { dateDoneNow, type ResultMeta } from '../../src/protocol/result-meta';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';

const run = promisify(execFile);
const PYTHON = process.env.CELERIAC_TEST_PYTHON ?? '/usr/bin/python3';
const PEER = path.join(__dirname, '..', 'interop', 'py', 'rpc_peer.py');

let vhost: TestVhost;
const open: RpcResultBackend[] = [];

function backend(oid: string = randomUUID()): RpcResultBackend {
  const b = new RpcResultBackend({ brokerUrl: vhost.url, oid, expires: 60 });
  open.push(b);
  return b;
}

const meta = (taskId: string, status: string, result: unknown, replyTo: string | null): ResultMeta => ({
  taskId,
  status,
  result,
  traceback: null,
  children: [],
  dateDone: dateDoneNow(),
  replyTo,
  correlationId: taskId,
});

beforeAll(async () => {
  vhost = await createTestVhost('rpc');
}, 30_000);

afterAll(async () => {
  for (const b of open) await b.close();
  await vhost.delete();
}, 30_000);

test('a state sent to the reply queue reaches the waiting client; many tasks share the queue', async () => {
  const client = backend();
  const worker = backend();
  await client.connect();
  const ids = [randomUUID(), randomUUID(), randomUUID()];
  const waits = ids.map((id) => client.waitFor(id, { timeoutMs: 10_000 }));
  const seen: string[] = [];
  const started = client.waitFor(ids[0]!, { timeoutMs: 10_000, onMessage: (m) => seen.push(m.status) });
  await worker.storeResult(meta(ids[0]!, 'STARTED', { pid: 1, hostname: 'w' }, (client as unknown as { options: { oid: string } }).options.oid));
  for (const [i, id] of ids.entries()) await worker.storeResult(meta(id, 'SUCCESS', i * 10, (client as unknown as { options: { oid: string } }).options.oid));
  const results = await Promise.all(waits);
  expect(results.map((r) => r.result)).toEqual([0, 10, 20]);
  await started;
  expect(seen).toEqual(['STARTED', 'SUCCESS']);
  // Later reads answer from what this client received; an unknown id is PENDING (null).
  await expect(client.getMeta(ids[1]!)).resolves.toMatchObject({ status: 'SUCCESS', result: 10 });
  await expect(client.getMeta(randomUUID())).resolves.toBeNull();
});

test('the reply queue is declared as Celery declares it: non-durable, auto-delete, x-expires', async () => {
  const oid = randomUUID();
  const client = backend(oid);
  await client.connect();
  const queues = await listQueues(vhost.name);
  const q = queues.find((x) => x.name === oid);
  expect(q).toMatchObject({ durable: false, auto_delete: true, arguments: { 'x-expires': 60_000 } });
});

test('no reply_to: nothing is sent and nothing fails', async () => {
  const worker = backend();
  await expect(worker.storeResult(meta(randomUUID(), 'SUCCESS', 1, null))).resolves.toBeUndefined();
});

test('a Python Celery rpc backend reads our result', async () => {
  const taskId = randomUUID();
  const child = execFile(PYTHON, [PEER, 'wait', vhost.url, taskId, '20']);
  let out = '';
  const oid = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"oid"'));
      if (line) resolve((JSON.parse(line) as { oid: string }).oid);
    });
    child.on('exit', (code) => reject(new Error(`python exited ${code}: ${out}`)));
  });
  const done = new Promise<{ state: string; result: unknown }>((resolve, reject) => {
    child.on('exit', () => {
      const line = out.split('\n').find((l) => l.includes('"state"'));
      if (line) resolve(JSON.parse(line) as { state: string; result: unknown });
      else reject(new Error(`no result from python: ${out}`));
    });
  });
  await backend().storeResult(meta(taskId, 'SUCCESS', { answer: [4, 2] }, oid));
  await expect(done).resolves.toEqual({ state: 'SUCCESS', result: { answer: [4, 2] } });
}, 30_000);

test('we read what a Python Celery rpc backend sends', async () => {
  const oid = randomUUID();
  const client = backend(oid);
  await client.connect();
  const taskId = randomUUID();
  const waiting = client.waitFor(taskId, { timeoutMs: 20_000 });
  await run(PYTHON, [PEER, 'send', vhost.url, oid, taskId, JSON.stringify([1, 'two', null])]);
  await expect(waiting).resolves.toMatchObject({ taskId, status: 'SUCCESS', result: [1, 'two', null] });
}, 30_000);

test('chords and saved groups are refused with a clear error, as in Celery', async () => {
  const app = new Celeriac({ brokerUrl: vhost.url, resultBackend: 'rpc://', logger: createLogger('silent') });
  const add = app.task('t.add', async (x: number, y: number) => x + y);
  const xsum = app.task('t.xsum', async (values: number[]) => values.length);
  try {
    await expect(chord([add.s(1, 1)], xsum.s()).applyAsync()).rejects.toThrow(ConfigError);
    await expect(new GroupResult('g', [], app).save()).rejects.toThrow(/cannot save groups/);
  } finally {
    await app.close();
  }
});

test('rpc:// needs an AMQP broker', () => {
  expect(() => new Celeriac({ brokerUrl: 'redis://127.0.0.1:6379/0', resultBackend: 'rpc://' }).resultBackend()).toThrow(/must be RabbitMQ/);
});
