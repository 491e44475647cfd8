/**
 * Worker behaviour on RabbitMQ, as the Redis suite checks it on Redis: acks late (a killed worker's
 * task is delivered again at once: RabbitMQ requeues a dead connection's unacked messages) and acks
 * early (at most once), reject to a dead-letter exchange, countdown, expires and retries.
 *
 * Isolation: a vhost of this file's own (deleted afterwards); results and run records in Redis DB 0
 * under this file's key prefix (deleted afterwards).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Celeriac, Reject, TaskRevokedError, Worker, createLogger, type TaskContext } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);
const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(ROOT, 'packages/core/dist/cli/main.js');
const FIXTURE = resolve(__dirname, '../fixtures/cli/acks-late-app.js');
const ns = testNamespace('amqp-behaviour');
const raw = new Redis(ns.redisUrl, { lazyConnect: true });
const children: ChildProcess[] = [];
let vhost: TestVhost;
let client: Celeriac;

function startWorker(name: string): ChildProcess {
  const child = spawn(process.execPath, [MAIN, 'worker', '-A', FIXTURE, '-c', '2', '-n', `${name}@%h`, '-l', 'warning'], {
    cwd: ROOT,
    env: { ...process.env, FAULT_REDIS_URL: ns.redisUrl, FAULT_PREFIX: ns.prefix, FAULT_BROKER_URL: vhost.url },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

/** Messages delivered and not yet acknowledged, as RabbitMQ counts them. */
async function unacked(queue: string): Promise<number> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', '-p', vhost.name, '--formatter', 'json', 'name', 'messages_unacknowledged']);
  const row = (JSON.parse(stdout) as Array<{ name: string; messages_unacknowledged: number }>).find((q) => q.name === queue);
  return row?.messages_unacknowledged ?? -1;
}

async function kill(child: ChildProcess): Promise<void> {
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

beforeAll(async () => {
  await raw.connect();
  vhost = await createTestVhost('amqp-behaviour');
  client = new Celeriac({ brokerUrl: vhost.url, ...ns.redisResults(), logger: createLogger('silent') });
}, 30_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await client.close();
  await vhost.delete();
  raw.disconnect();
  await ns.cleanup();
}, 30_000);

describe('a worker killed mid-task', () => {
  beforeEach(async () => {
    await raw.del(`${ns.prefix}runs`);
  });

  it('acksLate: RabbitMQ gives the task to the next worker at once; it runs again and its result is stored', async () => {
    const first = startWorker('doomed');
    const result = await client.sendTask<string>('fault.slow', ['late-1', 2000]);
    await waitFor(async () => (await raw.llen(`${ns.prefix}runs`)) === 1, 20_000, 'first run started');
    await kill(first);
    const rescuer = startWorker('rescuer');
    await expect(result.get({ timeout: 20_000 })).resolves.toBe('late-1');
    const runs = await raw.lrange(`${ns.prefix}runs`, 0, -1);
    expect(runs).toHaveLength(2);
    expect(runs[1]!.split(':')[0]).toBe(String(rescuer.pid));
    await kill(rescuer);
  }, 60_000);

  it('acks early (the default): the task was acknowledged when it started, so it is not run again', async () => {
    const first = startWorker('doomed-early');
    const result = await client.sendTask<string>('fault.slow_early', ['early-1', 15_000]);
    await waitFor(async () => (await raw.llen(`${ns.prefix}runs`)) === 1, 20_000, 'first run started');
    // Killed once RabbitMQ has the ack (its queue statistics lag by a few seconds).
    await waitFor(async () => (await unacked('celery')) === 0, 12_000, 'the ack to reach RabbitMQ');
    await kill(first);
    const second = startWorker('after-early');
    // A task sent after the kill runs on the new worker; the lost one never comes back.
    await expect((await client.sendTask<string>('fault.slow_early', ['early-2', 10])).get({ timeout: 20_000 })).resolves.toBe('early-2');
    const all = await raw.lrange(`${ns.prefix}runs`, 0, -1);
    expect({ all, first: first.pid, second: second.pid }).toEqual({ all: [`${first.pid}:early-1`, `${second.pid}:early-2`], first: first.pid, second: second.pid });
    await expect(result.state()).resolves.toBe('PENDING');
    expect(await client.broker.queueLength('celery')).toBe(0);
    await kill(second);
  }, 60_000);
});

describe('in-process worker on RabbitMQ', () => {
  let app: Celeriac;
  let worker: Worker;
  const attempts = new Map<string, number>();

  beforeAll(async () => {
    app = new Celeriac({
      brokerUrl: vhost.url,
      ...ns.redisResults(),
      taskDefaultQueue: 'work',
      taskDefaultExchange: 'work',
      taskDefaultRoutingKey: 'work',
      // Rejected messages go to the dead-letter exchange "dlx" and wait in queue "dead".
      taskQueues: [{ name: 'work', queueArguments: { 'x-dead-letter-exchange': 'dlx' } }],
      logger: createLogger('silent'),
    });
    app.task('b.add', async (x: number, y: number) => x + y);
    // Reject settles the message itself, so it needs acksLate (as in Celery).
    app.task(
      'b.refuse',
      async () => {
        throw new Reject('not for us', false);
      },
      { acksLate: true },
    );
    app.task(
      'b.flaky',
      async function (this: TaskContext, key: string) {
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (n < 3) this.retry({ countdown: 0.2 });
        return n;
      },
      { maxRetries: 5 },
    );
    await app.connect();
    await app.broker.declareQueue({ name: 'dead', exchange: 'dlx', routingKey: 'work' });
    worker = new Worker(app, { concurrency: 4 });
    await worker.start();
  }, 30_000);

  afterAll(async () => {
    await worker.close();
    await app.close();
  });

  it('countdown: the task runs after it', async () => {
    const sent = Date.now();
    const r = await app.sendTask<number>('b.add', [1, 2], {}, { countdown: 1 });
    await expect(r.get({ timeout: 10_000 })).resolves.toBe(3);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(990);
  });

  it('expires: a task that expired before a worker took it is REVOKED (expired)', async () => {
    const r = await app.sendTask('b.add', [1, 2], {}, { eta: new Date(Date.now() + 1500), expires: 1 });
    await expect(r.get({ timeout: 10_000 })).rejects.toMatchObject({ reason: 'expired' });
    await expect(r.get({ timeout: 10_000 }).catch((e: unknown) => e)).resolves.toBeInstanceOf(TaskRevokedError);
  });

  it('retries re-publish the same task id until it succeeds', async () => {
    const r = await app.sendTask<number>('b.flaky', ['k1']);
    await expect(r.get({ timeout: 10_000 })).resolves.toBe(3);
    expect(attempts.get('k1')).toBe(3);
  });

  it('Reject without requeue, and an unknown task, dead-letter the message to the queue\'s dead-letter exchange', async () => {
    await app.sendTask('b.refuse', []);
    await waitFor(async () => (await app.broker.queueLength('dead')) === 1, 10_000, 'the message in the dead-letter queue');
    await app.sendTask('b.no_such_task', []);
    await waitFor(async () => (await app.broker.queueLength('dead')) === 2, 10_000, 'the unknown task in the dead-letter queue');
    expect((await listQueues(vhost.name)).find((q) => q.name === 'work')).toMatchObject({ arguments: { 'x-dead-letter-exchange': 'dlx' } });
  });
});
