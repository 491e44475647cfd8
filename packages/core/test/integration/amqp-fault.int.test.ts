/**
 * Fault test: a stream of acksLate tasks through a real Worker over RabbitMQ (Redis results), through
 * two faults — every connection of the vhost closed by the server, then the RabbitMQ application
 * stopped for a few seconds and started again. The producer keeps publishing (the publish retry
 * policy rides out the outage), the worker resumes by itself, and every task published runs: none
 * lost, duplicates allowed only as at-least-once (a publish retried after its confirm was lost, an
 * acksLate task redelivered after its ack was lost) and reported with the other figures.
 *
 * stop_app would break every other test file using the shared RabbitMQ, so this file runs on a
 * private node of its own (helpers/rabbit-private-node.ts: own name, ports and database), which
 * Jest's integration project can run in parallel with the rest. Results go to Redis DB 9 under this
 * file's key prefix, deleted afterwards.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { Celeriac, Worker, createLogger, type CeleriacOptions, type Task, type TaskContext } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { startPrivateRabbitNode, type PrivateRabbitNode } from '../helpers/rabbit-private-node';
import { deferred, waitFor } from '../helpers/wait';

const TOTAL = 2000;
/** Tasks published and not yet run, at most: the producer runs ahead of the worker by this much. */
const WINDOW = 300;
/**
 * The last tasks are published only once RabbitMQ has been stopped: on a slow machine the stream
 * could otherwise run out while `rabbitmqctl stop_app` is still on its way, and nothing would be left
 * to show the worker recovering after the restart.
 */
const AFTER_STOP = 400;
const SENDERS = 16;
const CONCURRENCY = 8;
/** What the worker may hold at a fault (concurrency x the default prefetch multiplier, 4): these may still run from its buffers. */
const HELD = CONCURRENCY * 4;
/** Simulated work per task: keeps the stream going through both faults (about 400 tasks/s). */
const WORK_MS = 20;
/** How long the RabbitMQ application stays down. */
const OUTAGE_MS = 2000;
const RESULT_DB = 9;

const ns = testNamespace('amqp-fault', { extraDbs: [RESULT_DB] });
const VHOST = `t-amqp-fault-${ns.prefix.slice(-9, -1)}`;
let node: PrivateRabbitNode;

let nodeStartMs = 0;
beforeAll(async () => {
  const t = Date.now();
  node = await startPrivateRabbitNode('fault');
  nodeStartMs = Date.now() - t;
  await node.addVhost(VHOST);
}, 90_000);

afterAll(async () => {
  await ns.cleanup();
  await node?.stop();
}, 60_000);

/** Log lines per message (the apps' warnings and errors: publish retries, consumer errors). */
const logged = new Map<string, number>();
const countingLogger = pino(
  { level: 'warn' },
  new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) {
        const msg = ((JSON.parse(line) as { msg?: string }).msg ?? '').replace(/\(attempt \d+\).*$/, '(attempt n)');
        logged.set(msg, (logged.get(msg) ?? 0) + 1);
      }
      callback();
    },
  }),
);

function makeApp(logger = countingLogger, extra: Partial<CeleriacOptions> = {}): Celeriac {
  return new Celeriac({
    brokerUrl: node.url(VHOST),
    ...ns.redisResults(RESULT_DB),
    // enough to ride out the outage: each attempt also waits up to brokerConnectionTimeout for a reconnect
    taskPublishRetryPolicy: { maxRetries: 50, intervalStart: 0, intervalStep: 0.2, intervalMax: 0.5 },
    logger,
    ...extra,
  });
}

describe('Worker over AMQP through faults', () => {
  it(`runs all of ${TOTAL} acksLate tasks through a closed connection and a RabbitMQ restart`, async () => {
    // The producer waits at most 0.5 s for a reconnect per attempt, shorter than the outage: its
    // publishes fail and are retried by the retry policy (a longer wait would ride the outage out).
    const client = makeApp(countingLogger, { brokerConnectionTimeout: 0.5 });
    const server = makeApp();
    /** Executions per task id. */
    const runs = new Map<string, number>();
    /** When each run ended, in order. */
    const runTimes: number[] = [];
    const wake: (() => void)[] = [];
    server.task(
      'fault.record',
      async function (this: TaskContext, i: number) {
        await new Promise((resolve) => setTimeout(resolve, WORK_MS)); // the work
        runs.set(this.id, (runs.get(this.id) ?? 0) + 1);
        runTimes.push(Date.now());
        for (const w of wake.splice(0)) w();
        return i;
      },
      { acksLate: true },
    );
    const worker = new Worker(server, { queues: ['celery'], concurrency: CONCURRENCY, hostname: 'fault@test' });
    const workerErrors: unknown[] = [];
    worker.on('error', (e) => workerErrors.push(e));
    const record = client.taskRef<Task<[number], number>>('fault.record');

    const sent: string[] = [];
    let next = 0;
    const publishFailures: unknown[] = [];
    /** Resolves at the next task run (the producer waits there while WINDOW tasks are pending). */
    const nextRun = (): Promise<void> => new Promise((resolve) => wake.push(resolve));
    const stopped = deferred();
    const sender = async (): Promise<void> => {
      for (;;) {
        while (sent.length - runs.size >= WINDOW) await nextRun();
        if (next >= TOTAL - AFTER_STOP) await stopped.promise;
        if (next >= TOTAL) return;
        const i = next++;
        try {
          sent.push((await record.applyAsync([i])).id);
        } catch (err) {
          publishFailures.push(err); // the retry policy gave up: counted, and fails the test below
        }
      }
    };

    /**
     * Milliseconds from `since` to the first run that needed a working connection again: the one
     * after the HELD runs the worker could still finish from what it held at the fault.
     */
    const recovered = async (since: number, runsAtFault: number, what: string): Promise<number> => {
      await waitFor(() => runTimes.length > runsAtFault + HELD, 20_000, what);
      return runTimes[runsAtFault + HELD]! - since;
    };
    const figures: Record<string, number | string> = { 'private node start (ms)': nodeStartMs };
    /** A task published while RabbitMQ is stopped: the producer must retry it until the node is back. */
    let outagePublish: Promise<string> | undefined;
    let outageId: string | undefined;
    const started = Date.now();
    try {
      await worker.start();
      const producing = Promise.all(Array.from({ length: SENDERS }, sender));

      // Fault 1: the server closes every connection of the vhost (worker's and producer's).
      await waitFor(() => runs.size >= 250, 20_000, '250 tasks before the first fault');
      const closedAt = Date.now();
      const runsAtClose = runTimes.length;
      figures['connections closed'] = await node.closeVhostConnections(VHOST);
      figures['recovery after close (ms)'] = await recovered(closedAt, runsAtClose, 'tasks running again after the connections were closed');
      await waitFor(() => runs.size >= 500, 20_000, '500 tasks before the second fault');

      // Fault 2: the RabbitMQ application stops for OUTAGE_MS, then starts again.
      let stoppedAt = 0;
      let runsAtStop = 0;
      let backAt = 0;
      try {
        await node.stopApp(); // returns once RabbitMQ has stopped (its clients are disconnected by then)
        stoppedAt = Date.now();
        stopped.resolve();
        runsAtStop = runTimes.length;
        // The senders may all be waiting for runs (none happen while stopped): publish one now, for sure.
        outagePublish = record.applyAsync([-1]).then((r) => r.id);
        outagePublish.catch(() => undefined);
        // The outage itself is a duration, not a condition: the producer keeps retrying meanwhile.
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
        figures['runs while stopped (held by the worker)'] = runTimes.length - runsAtStop;
      } finally {
        await node.startApp(); // always: the node must answer again, whatever failed above
        backAt = Date.now();
      }
      figures['outage, stopped to answering again (ms)'] = backAt - stoppedAt;
      figures['recovery after answering again (ms)'] = (await recovered(backAt, runsAtStop, 'tasks running again after the restart'));
      figures['tasks left when RabbitMQ answered again'] = TOTAL - runs.size;

      outageId = await outagePublish;
      await producing;
      await waitFor(() => sent.length + publishFailures.length === TOTAL && sent.every((id) => runs.has(id)), 30_000, `all ${TOTAL} tasks to run`);
      await waitFor(() => runs.has(outageId!), 30_000, 'the task published during the outage to run');
    } finally {
      if (!stopped.settled) stopped.resolve(); // a fault step failed: let the senders finish
      const duplicates = [...runs.values()].reduce((sum, n) => sum + n - 1, 0);
      Object.assign(figures, {
        sent: sent.length,
        'publish failures': publishFailures.length,
        'distinct tasks run': runs.size,
        duplicates,
        'lost (sent, never run)': sent.filter((id) => !runs.has(id)).length,
        'worker errors reported': workerErrors.length,
        ...Object.fromEntries([...logged].map(([msg, count]) => [`log "${msg}"`, count])),
        'total (ms)': Date.now() - started,
      });
      console.log(`AMQP fault test figures:\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
      await worker.close();
      await Promise.all([client.close(), server.close()]);
    }

    expect(figures['tasks left when RabbitMQ answered again']).toBeGreaterThan(0); // the stream went through the restart
    expect(logged.get('Publish failed (attempt n)')).toBeGreaterThan(0); // the producer published through the faults
    expect(runs.has(outageId)).toBe(true); // and what it published while RabbitMQ was down ran
    expect(publishFailures).toEqual([]);
    expect(sent).toHaveLength(TOTAL);
    expect(new Set(sent).size).toBe(TOTAL);
    expect(sent.filter((id) => !runs.has(id))).toEqual([]); // none lost
    expect([...runs.keys()].filter((id) => !sent.includes(id) && id !== outageId)).toEqual([]); // nothing ran that was not sent
    // the results reached Redis: a sample read back through the producer's app
    const check = makeApp(createLogger('silent'));
    try {
      const sample = sent.filter((_, k) => k % 100 === 0);
      await expect(Promise.all(sample.map((id) => check.asyncResult<number>(id).get({ timeout: 10_000 })))).resolves.toHaveLength(sample.length);
    } finally {
      await check.close();
    }
  }, 120_000);
});
