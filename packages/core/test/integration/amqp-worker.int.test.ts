/**
 * A full Worker on RabbitMQ with Redis results: tasks sent by one app run on another app's worker,
 * through Celery's topology in a vhost of this file's own. Results live in Redis DB 9 under this
 * file's key prefix; both are deleted afterwards.
 */
import { Celeriac, Worker, createLogger, type Task } from '../../src';
import { closeVhostConnections } from '../helpers/amqp-connections';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';

const RESULT_DB = 9;
const ns = testNamespace('amqp-worker', { extraDbs: [RESULT_DB] });
let vhost: TestVhost;

function makeApp(): Celeriac {
  return new Celeriac({
    brokerUrl: vhost.url,
    ...ns.redisResults(RESULT_DB),
    logger: createLogger('silent'),
  });
}

let client: Celeriac;
let server: Celeriac;
let worker: Worker;

beforeAll(async () => {
  vhost = await createTestVhost('amqp-worker');
  client = makeApp();
  server = makeApp();
  server.task('math.add', async (x: number, y: number) => x + y);
  server.task('math.fail', async (why: string) => {
    throw new Error(why);
  });
  worker = new Worker(server, { queues: ['celery', 'math'], concurrency: 4, hostname: 'amqp@test' });
  await worker.start();
});

afterAll(async () => {
  await worker?.close();
  await Promise.all([client?.close(), server?.close()]);
  await ns.cleanup();
  await vhost?.delete();
});

describe('Worker over AMQP', () => {
  const add = () => client.taskRef<Task<[number, number], number>>('math.add');

  it('runs a task end to end: publish, consume, execute, result in Redis', async () => {
    const result = await add().delay(2, 3);
    await expect(result.get({ timeout: 10_000 })).resolves.toBe(5);
    const queues = await listQueues(vhost.name);
    expect(queues.find((q) => q.name === 'celery')).toMatchObject({ durable: true, auto_delete: false, arguments: {} });
  });

  it('routes to another queue, runs many at once, and stores failures', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => add().applyAsync([i, 100], { queue: 'math' })));
    await expect(Promise.all(results.map((r) => r.get({ timeout: 10_000 })))).resolves.toEqual(Array.from({ length: 20 }, (_, i) => i + 100));
    const failed = await client.taskRef<Task<[string], void>>('math.fail').delay('boom');
    await expect(failed.get({ timeout: 10_000 })).rejects.toThrow('boom');
    expect(await client.broker.queueLength('math')).toBe(0);
  });

  it('gets through a lost connection: the worker consumes again, a task sent meanwhile runs', async () => {
    expect(await closeVhostConnections(vhost.name)).toBeGreaterThan(0);
    const result = await add().delay(20, 22); // waits for the reconnect (then the app's publish retry policy)
    await expect(result.get({ timeout: 15_000 })).resolves.toBe(42);
  });
});
