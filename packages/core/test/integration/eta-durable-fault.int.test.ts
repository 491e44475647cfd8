/**
 * Fault test 4: ETA tasks outlive the broker's patience and still run exactly once.
 *
 * Accelerated time: on Redis a visibility timeout of 1 s stands for Celery's 1 h and an ETA 3 s ahead
 * for 2 h, with every worker's broker running `restore_visible` every 100 ms (Kombu: every 10 s), so
 * any message held unacked past the timeout would be restored and run a second time (Celery #4400).
 * On RabbitMQ an `etaHoldLimit` of 1 s stands for a limit under `consumer_timeout` (Celery #6760): the
 * worker must hold no unacked message while the ETA waits. A baseline on Redis shows the old way
 * (holding the ETA message in the worker) duplicating under the same conditions.
 *
 * Each test prints its figures: sent, completed, lost, duplicated, recovery (ms from the ETA until the
 * last task ran). Isolation: a Redis key prefix and a RabbitMQ vhost of this file's own, deleted after.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Celeriac, Worker, createLogger, type CeleriacOptions } from '../../src';
import type { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);
const ns = testNamespace('eta-fault');
let vhost: TestVhost;
const apps: Celeriac[] = [];
const workers: Worker[] = [];

beforeAll(async () => {
  vhost = await createTestVhost('eta-fault');
}, 30_000);
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  for (const a of apps.splice(0)) await a.close();
});
afterAll(async () => {
  await ns.cleanup();
  await vhost.delete();
}, 30_000);

/** Runs per task id, shared by every worker of a test (all in this process). */
class Ledger {
  readonly runs = new Map<string, number>();
  lastRunAt = 0;
  record(id: string): void {
    this.runs.set(id, (this.runs.get(id) ?? 0) + 1);
    this.lastRunAt = Date.now();
  }
  figures(sent: string[], eta: Date) {
    const completed = sent.filter((id) => this.runs.has(id)).length;
    const duplicated = sent.reduce((n, id) => n + Math.max(0, (this.runs.get(id) ?? 0) - 1), 0);
    return { sent: sent.length, completed, lost: sent.length - completed, duplicated, recoveryMs: Math.max(0, this.lastRunAt - eta.getTime()) };
  }
}

function report(label: string, figures: ReturnType<Ledger['figures']>): void {
  console.log(`[fault 4] ${label}: sent=${figures.sent} completed=${figures.completed} lost=${figures.lost} duplicated=${figures.duplicated} recovery=${figures.recoveryMs}ms`);
}

function makeApp(options: CeleriacOptions, ledger: Ledger): Celeriac {
  const app = new Celeriac({ resultBackend: `memory://${randomUUID()}`, logger: createLogger('silent'), ...options });
  app.task('fault.eta', async function (this: { request: { id: string } }) {
    ledger.record(this.request.id);
  });
  apps.push(app);
  return app;
}

async function sendBatch(client: Celeriac, count: number, eta: Date): Promise<string[]> {
  const sent = await Promise.all(Array.from({ length: count }, () => client.sendTask('fault.eta', [], {}, { eta })));
  return sent.map((r) => r.id);
}

/** Calls restoreVisible on every broker every 100 ms until stopped (Kombu's 10 s, accelerated). */
async function withRestoreLoop(brokers: RedisBroker[], body: () => Promise<void>): Promise<number> {
  let stopped = false;
  let restored = 0;
  const loop = (async () => {
    while (!stopped) {
      for (const b of brokers) restored += await b.restoreVisible();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  try {
    await body();
  } finally {
    stopped = true;
    await loop;
  }
  return restored;
}

async function redisFleet(ledger: Ledger, count: number, legacy: boolean): Promise<{ client: Celeriac; brokers: RedisBroker[]; prefix: string }> {
  const prefix = `${ns.prefix}${randomUUID().slice(0, 8)}:`;
  const options: CeleriacOptions = { brokerUrl: ns.redisUrl, brokerTransportOptions: { globalKeyprefix: prefix, visibilityTimeout: 1 } };
  const brokers: RedisBroker[] = [];
  for (let i = 0; i < count; i++) {
    const app = makeApp(options, ledger);
    const broker = app.broker as RedisBroker;
    if (legacy) {
      // The old way: no delayed delivery and no cap from the visibility timeout, so the worker holds it.
      Object.defineProperty(broker, 'publishDelayed', { value: undefined });
      Object.defineProperty(broker, 'maxHoldSeconds', { value: undefined });
    }
    brokers.push(broker);
    const w = new Worker(app, { hostname: `w${i}@eta-fault`, concurrency: 4, remoteControl: false });
    workers.push(w);
    await w.start();
  }
  return { client: makeApp(options, ledger), brokers, prefix };
}

test('Redis: 200 ETA tasks due after three visibility timeouts, 3 workers restoring all along, each runs exactly once', async () => {
  const ledger = new Ledger();
  const { client, brokers, prefix } = await redisFleet(ledger, 3, false);
  const eta = new Date(Date.now() + 3000);
  let sent: string[] = [];
  const restored = await withRestoreLoop(brokers, async () => {
    sent = await sendBatch(client, 200, eta);
    // While the ETA is ahead, every message waits in celeriac.delayed: none on the queue, none unacked.
    await waitFor(async () => (await redisCounts(prefix)) === '200/0/0', eta.getTime() - Date.now() - 500, 'all 200 deferred (delayed/queued/unacked = 200/0/0)', 20);
    expect(ledger.runs.size).toBe(0);
    await waitFor(() => ledger.runs.size === sent.length, 15_000, 'every task to run');
    // Past another visibility timeout plus restore rounds: a duplicate would have shown up by now.
    await new Promise((r) => setTimeout(r, 1500));
  });
  const figures = ledger.figures(sent, eta);
  report(`Redis, visibility 1 s, ETA +3 s, 3 workers (restore_visible moved ${restored})`, figures);
  expect(figures).toMatchObject({ sent: 200, completed: 200, lost: 0, duplicated: 0 });
  for (const w of workers) expect(w.scheduledRequests()).toEqual([]);
}, 40_000);

test('Redis baseline, the old way (the worker holds the ETA message): the same batch runs more than once', async () => {
  const ledger = new Ledger();
  const { client, brokers } = await redisFleet(ledger, 2, true);
  const eta = new Date(Date.now() + 3000);
  let sent: string[] = [];
  const restored = await withRestoreLoop(brokers, async () => {
    sent = await sendBatch(client, 50, eta);
    await waitFor(() => ledger.runs.size === sent.length, 15_000, 'every task to run');
    await new Promise((r) => setTimeout(r, 1500));
  });
  const figures = ledger.figures(sent, eta);
  report(`Redis baseline without delayed delivery (restore_visible moved ${restored})`, figures);
  expect(restored).toBeGreaterThan(0);
  expect(figures.duplicated).toBeGreaterThan(0);
}, 40_000);

test('RabbitMQ: 100 ETA tasks beyond a 1 s hold limit, 2 workers: none held unacked meanwhile, each runs exactly once', async () => {
  const ledger = new Ledger();
  const options: CeleriacOptions = { brokerUrl: vhost.url };
  const fleet: Worker[] = [];
  for (let i = 0; i < 2; i++) {
    const w = new Worker(makeApp(options, ledger), { hostname: `r${i}@eta-fault`, concurrency: 4, etaHoldLimit: 1, remoteControl: false });
    workers.push(w);
    fleet.push(w);
    await w.start();
  }
  const client = makeApp(options, ledger);
  // +15 s: room for declaring the 28 delay levels (quorum queues) on first use and for the samples
  // below (each rabbitmqctl call takes over a second)
  const eta = new Date(Date.now() + 15_000);
  const sent = await sendBatch(client, 100, eta);
  // Every message taken, deferred into the delay levels and acked: the task queue is empty, nothing unacked...
  await waitFor(async () => JSON.stringify(await celeryQueue(vhost.name)) === '{"messages":0,"unacked":0}', 6000, 'the queue to empty', 50);
  // ...and stays so while the ETA is ahead (beyond the hold limit): sampled over a few seconds.
  const samples: Array<{ messages: number; unacked: number; held: number }> = [];
  for (let i = 0; i < 2; i++) {
    samples.push({ ...(await celeryQueue(vhost.name)), held: fleet.reduce((n, w) => n + w.scheduledRequests().length, 0) });
    await new Promise((r) => setTimeout(r, 300));
  }
  expect(Date.now()).toBeLessThan(eta.getTime() - 1000);
  expect(samples).toEqual(Array(2).fill({ messages: 0, unacked: 0, held: 0 }));
  expect(ledger.runs.size).toBe(0);
  await waitFor(() => ledger.runs.size === sent.length, 25_000, 'every task to run');
  await new Promise((r) => setTimeout(r, 1000));
  const figures = ledger.figures(sent, eta);
  report(`RabbitMQ, etaHoldLimit 1 s, ETA +15 s, 2 workers (unacked while waiting: ${Math.max(...samples.map((x) => x.unacked))}, held: ${Math.max(...samples.map((x) => x.held))})`, figures);
  expect(figures).toMatchObject({ sent: 100, completed: 100, lost: 0, duplicated: 0 });
  expect(await celeryQueue(vhost.name)).toEqual({ messages: 0, unacked: 0 });
}, 60_000);

/** `delayed/queued/unacked` under a key prefix. */
async function redisCounts(prefix: string): Promise<string> {
  const raw = new Redis(ns.redisUrl);
  try {
    const [delayed, queued, unacked] = await Promise.all([raw.zcard(`${prefix}celeriac.delayed`), raw.llen(`${prefix}celery`), raw.hlen(`${prefix}unacked`)]);
    return `${delayed}/${queued}/${unacked}`;
  } finally {
    raw.disconnect();
  }
}

/** The `celery` queue's ready and unacknowledged counts, live from rabbitmqctl. */
async function celeryQueue(name: string): Promise<{ messages: number; unacked: number }> {
  const { stdout } = await run('rabbitmqctl', ['-q', 'list_queues', '-p', name, '--formatter', 'json', 'name', 'messages_ready', 'messages_unacknowledged']);
  const row = (JSON.parse(stdout) as Array<{ name: string; messages_ready: number; messages_unacknowledged: number }>).find((q) => q.name === 'celery');
  return { messages: row?.messages_ready ?? -1, unacked: row?.messages_unacknowledged ?? -1 };
}
