/**
 * workerDisablePrefetch on Redis and on RabbitMQ: two workers of concurrency 1 with prefetch
 * disabled share 4 long tasks 2/2, and while both are busy the other two stay in the queue (no
 * worker reserves a message it cannot start). On Redis, a held ETA task that becomes due while its
 * worker is busy goes back to the queue and runs on the idle worker.
 *
 * Isolation: Redis DB 0 under this file's key prefix (testNamespace), a RabbitMQ vhost of its own;
 * both are deleted afterwards.
 */
import { Celeriac, Worker, createLogger } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';
import { deferred, waitFor, type Deferred } from '../helpers/wait';

const ns = testNamespace('no-prefetch');
let vhost: TestVhost;

beforeAll(async () => {
  vhost = await createTestVhost('no-prefetch');
});

afterAll(async () => {
  await ns.cleanup();
  await vhost?.delete();
});

interface Setup {
  brokerUrl: () => string;
  /** Extra app settings (the task's ack mode). */
  settings?: Record<string, unknown>;
}

const brokers: Array<[string, Setup]> = [
  ['Redis', { brokerUrl: () => ns.redisUrl }],
  // Early acks free RabbitMQ's credit as a task starts; the consumer pauses instead of taking more.
  ['RabbitMQ, early acks', { brokerUrl: () => vhost.url }],
  ['RabbitMQ, acksLate', { brokerUrl: () => vhost.url, settings: { taskAcksLate: true } }],
];

describe.each(brokers)('on %s', (label, setup) => {
  const queue = ns.name(`q-${label.replace(/\W+/g, '-')}`);
  const gates: Array<Deferred<void>> = [];
  const ran: Array<{ i: number; worker: string }> = [];
  let client: Celeriac;
  let apps: Celeriac[] = [];
  let workers: Worker[] = [];

  function makeApp(name: string): Celeriac {
    const app = new Celeriac({
      brokerUrl: setup.brokerUrl(),
      brokerTransportOptions: { globalKeyprefix: ns.prefix },
      ...ns.redisResults(),
      taskDefaultQueue: queue,
      workerDisablePrefetch: true,
      workerPrefetchMultiplier: 4,
      logger: createLogger('silent'),
      ...setup.settings,
    });
    app.task('np.long', async (i: number) => {
      ran.push({ i, worker: name });
      await gates[i]!.promise;
      return i;
    });
    app.task('np.quick', async () => name);
    return app;
  }

  beforeAll(async () => {
    client = makeApp('client');
    apps = [makeApp('w1'), makeApp('w2')];
    workers = apps.map((app, i) => new Worker(app, { concurrency: 1, hostname: `w${i + 1}@${queue}` }));
    await client.connect();
  });

  afterAll(async () => {
    for (const g of gates) g.resolve();
    for (const w of workers) await w.close();
    for (const app of [client, ...apps]) await app.close();
  });

  const reservedNowhere = (): void => {
    for (const w of workers) {
      expect(w.reservedRequests()).toEqual([]);
      expect(w.scheduledRequests()).toEqual([]);
    }
  };

  it('takes only as many messages as free slots: 4 long tasks split 2/2, the rest wait in the queue', async () => {
    for (const w of workers) expect(w.prefetch).toBe(1); // the multiplier (4) is ignored
    for (const w of workers) await w.start();
    for (let i = 0; i < 4; i++) gates.push(deferred());
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await client.sendTask<number>('np.long', [i]));

    await waitFor(() => ran.length === 2, 10_000, 'both workers to start a task');
    expect(new Set(ran.map((r) => r.worker))).toEqual(new Set(['w1', 'w2']));
    // Both busy: the two others are still in the broker, reserved by nobody (inspect reserved agrees).
    await waitFor(async () => (await client.broker.queueLength(queue)) === 2, 5000, 'two messages ready in the queue');
    reservedNowhere();
    const inspected = await client.control.inspect({ timeout: 1, limit: 2 }).reserved();
    expect(inspected).toEqual({ [workers[0]!.hostname]: [], [workers[1]!.hostname]: [] });
    expect(ran).toHaveLength(2);

    gates[ran[0]!.i]!.resolve();
    gates[ran[1]!.i]!.resolve();
    await waitFor(() => ran.length === 4, 10_000, 'the other two tasks to start');
    expect(await client.broker.queueLength(queue)).toBe(0);
    reservedNowhere();
    for (const r of ran.slice(2)) gates[r.i]!.resolve();
    await expect(Promise.all(results.map((r) => r.get({ timeout: 10_000 })))).resolves.toEqual([0, 1, 2, 3]);
    expect(ran.filter((r) => r.worker === 'w1')).toHaveLength(2);
    expect(ran.filter((r) => r.worker === 'w2')).toHaveLength(2);
  });
});

describe('a held ETA task due while its worker is busy (Redis)', () => {
  it('goes back to the queue and runs on the idle worker', async () => {
    const queue = ns.name('q-eta');
    const gate = deferred();
    const ran: string[] = [];
    const make = (name: string): Celeriac => {
      const app = new Celeriac({
        ...ns.redisBroker(),
        ...ns.redisResults(),
        taskDefaultQueue: queue,
        workerDisablePrefetch: true,
        logger: createLogger('silent'),
      });
      app.task('np.block', async () => {
        ran.push(`block@${name}`);
        await gate.promise;
      });
      app.task('np.eta', async () => {
        ran.push(`eta@${name}`);
        return name;
      });
      return app;
    };
    const client = make('client');
    const [a1, a2] = [make('w1'), make('w2')];
    const w1 = new Worker(a1, { concurrency: 1, remoteControl: false });
    const w2 = new Worker(a2, { concurrency: 1, remoteControl: false });
    try {
      await w1.start();
      const eta = await client.sendTask<string>('np.eta', [], {}, { countdown: 0.5 });
      await waitFor(() => w1.scheduledRequests().length === 1, 5000, 'w1 to hold the ETA task');
      const block = await client.sendTask('np.block');
      await waitFor(() => ran.includes('block@w1'), 5000, 'w1 to start the blocking task');
      await w2.start();
      // due while w1's only slot is busy: back to the queue, where idle w2 takes it
      await expect(eta.get({ timeout: 10_000 })).resolves.toBe('w2');
      expect(ran).toEqual(['block@w1', 'eta@w2']);
      expect(w1.reservedRequests()).toEqual([]);
      gate.resolve();
      await block.get({ timeout: 5000 });
    } finally {
      gate.resolve();
      await Promise.all([w1.close(), w2.close()]);
      await Promise.all([client.close(), a1.close(), a2.close()]);
    }
  });
});
