/**
 * Fault tests on RabbitMQ (issue 4), 10,000 acksLate tasks each, run by `celeriac worker` child
 * processes of the fault fixture app; every execution counted in a Redis ledger apart from the broker
 * (helpers/fault-ledger.ts), figures printed.
 *
 * 1. The worker is SIGKILLed twice mid-run and started again: RabbitMQ requeues what the dead
 *    connection held, every task completes, none lost; duplicates are only tasks whose ack died with
 *    the worker, at most one prefetch window per kill. Shared RabbitMQ, a vhost of this file's own.
 * 2. The RabbitMQ application is stopped mid-run (`rabbitmqctl stop_app`) and started again: no task
 *    lost (durable queue, persistent messages), the same worker process goes on within 5 s of RabbitMQ
 *    answering again. On a private node (helpers/rabbit-private-node.ts): stop_app on the shared node
 *    would break every other test.
 *
 * Results and the ledger: the shared Redis under this file's key prefix. Build first:
 * `npx tsc -b tsconfig.json`.
 */
import { connect } from 'amqplib';
import { FaultLedger, printFigures } from '../helpers/fault-ledger';
import { publishFaultTasks, startFaultWorker, stopAllFaultWorkers, type FaultWorker } from '../helpers/fault-worker';
import { testNamespace } from '../helpers/namespace';
import { startPrivateRabbitNode, type PrivateRabbitNode } from '../helpers/rabbit-private-node';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const TOTAL = 10_000;
/** Simulated work per task: the run lasts several seconds, long enough to fault in the middle. */
const WORK_MS = 10;
const CONCURRENCY = 16;
/** The worker's prefetch window (concurrency x the default multiplier, 4): what a fault can orphan. */
const PREFETCH = CONCURRENCY * 4;
const KILLS = 2;
/** How long the RabbitMQ application stays stopped (CELERIAC_FAULT_OUTAGE_MS to try others). */
const OUTAGE_MS = Number(process.env.CELERIAC_FAULT_OUTAGE_MS ?? 3000);

const ns = testNamespace('fault-amqp');
const ledger = new FaultLedger(ns.redisUrl, ns.prefix);
let vhost: TestVhost | undefined;
let node: PrivateRabbitNode | undefined;

afterAll(async () => {
  await stopAllFaultWorkers();
  ledger.close();
  await vhost?.delete();
  await node?.stop();
  await ns.cleanup();
}, 60_000);

/** Publishes TOTAL `fault.work` tasks in batches; returns their ids. */
function publishAll(brokerUrl: string): Promise<string[]> {
  return publishFaultTasks({ brokerUrl }, TOTAL, WORK_MS);
}

/** Ready messages in the queue (unacked ones are not counted: stop the worker first). */
async function queued(url: string): Promise<number> {
  const conn = await connect(url);
  try {
    const ch = await conn.createChannel();
    return (await ch.checkQueue('celery')).messageCount;
  } finally {
    await conn.close();
  }
}

const startWorker = (brokerUrl: string, name: string): FaultWorker =>
  startFaultWorker({ brokerUrl, ledgerUrl: ns.redisUrl, prefix: ns.prefix, concurrency: CONCURRENCY, name });

it(`runs all of ${TOTAL} acksLate tasks through ${KILLS} SIGKILLs of the worker`, async () => {
  vhost = await createTestVhost('fault-amqp');
  const started = Date.now();
  let worker = startWorker(vhost.url, 'kill-0');
  await worker.ready; // the queue exists before anything is published
  const sent = await publishAll(vhost.url);
  const figures: Record<string, number | string> = { 'publish (ms)': Date.now() - started };
  for (let k = 1; k <= KILLS; k++) {
    const at = Math.round((TOTAL * k) / (KILLS + 1));
    await waitFor(async () => (await ledger.distinct()) >= at, 60_000, `${at} tasks done before kill ${k}`, 10);
    expect(await worker.kill('SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    figures[`kill ${k}: tasks done at the kill`] = await ledger.distinct();
    worker = startWorker(vhost.url, `kill-${k}`);
    await worker.ready;
    const before = await ledger.executions();
    await waitFor(async () => (await ledger.executions()) > before, 30_000, `a task done after restart ${k}`, 10);
    figures[`kill ${k}: kill to first completion by the new worker (ms)`] = (await ledger.firstCompletionAfter(killedAt))! - killedAt;
  }
  await waitFor(async () => (await ledger.distinct()) >= TOTAL, 60_000, `all ${TOTAL} tasks done`, 50);
  expect(worker.alive).toBe(true);
  expect(await worker.kill('SIGTERM')).toBe('0'); // warm: anything unacked would go back to the queue
  const ledgerFigures = await ledger.figures(sent);
  const left = await queued(vhost.url);
  Object.assign(figures, ledgerFigures, { kills: KILLS, 'duplicates allowed (prefetch x kills)': PREFETCH * KILLS, 'left in queue': left, 'total (ms)': Date.now() - started });
  printFigures('RabbitMQ fault test 1, worker SIGKILLed twice (acksLate)', figures);

  expect(ledgerFigures).toMatchObject({ sent: TOTAL, completed: TOTAL, lost: 0, unexpected: 0 });
  expect(ledgerFigures.duplicated).toBeLessThanOrEqual(PREFETCH * KILLS);
  expect(left).toBe(0);
}, 150_000);

it(`runs all of ${TOTAL} tasks through a stop_app / start_app of RabbitMQ, resuming within 5 s`, async () => {
  await ledger.redis.del(ledger.runsKey, ledger.timesKey);
  const nodeStart = Date.now();
  node = await startPrivateRabbitNode('fault4');
  const VHOST = 'fault-restart';
  await node.addVhost(VHOST);
  const url = node.url(VHOST);
  const figures: Record<string, number | string> = { 'private node start (ms)': Date.now() - nodeStart };
  const started = Date.now();
  const worker = startWorker(url, 'restart');
  await worker.ready;
  const sent = await publishAll(url);
  figures['publish (ms)'] = Date.now() - started;
  await waitFor(async () => (await ledger.distinct()) >= TOTAL * 0.3, 60_000, 'a third of the tasks done', 10);
  let downAt = 0;
  let backAt = 0;
  try {
    await node.stopApp(); // returns once stopped: the worker's connection is gone by then
    downAt = Date.now();
    figures['tasks done when RabbitMQ stopped'] = await ledger.distinct();
    // The outage is a duration, not a condition: the worker keeps trying meanwhile.
    await new Promise((r) => setTimeout(r, OUTAGE_MS));
  } finally {
    // Back = the first AMQP connection to the vhost that opens (start_app itself returns later, once
    // rabbitmqctl's startup check passes): probed every 20 ms while the node starts.
    let starting = true;
    const probe = (async () => {
      while (starting) {
        const conn = await connect(url).catch(() => undefined);
        if (conn) return (await conn.close(), Date.now());
        await new Promise((r) => setTimeout(r, 20));
      }
      return Date.now();
    })();
    await node.startApp().finally(() => (starting = false)); // always: the node must answer again, whatever failed above
    backAt = await probe;
  }
  figures['outage, stopped to accepting connections again (ms)'] = backAt - downAt;
  figures['tasks done during the outage (held by the worker)'] = await ledger.completionsBetween(downAt, backAt);
  await waitFor(async () => (await ledger.firstCompletionAfter(backAt)) !== undefined, 20_000, 'a task done after RabbitMQ came back', 10);
  const recoveryMs = (await ledger.firstCompletionAfter(backAt))! - backAt;
  figures['recovery, RabbitMQ answering to first task done (ms)'] = recoveryMs;
  await waitFor(async () => (await ledger.distinct()) >= TOTAL, 60_000, `all ${TOTAL} tasks done`, 50);
  const alive = worker.alive;
  const recoveredLines = worker.lines.filter((l) => /^Consuming again|^Consumer rebuilt/.test(l.msg)).map((l) => l.msg);
  expect(await worker.kill('SIGTERM')).toBe('0');
  const ledgerFigures = await ledger.figures(sent);
  const left = await queued(url);
  Object.assign(figures, ledgerFigures, {
    'worker log, recovered': recoveredLines.length ? recoveredLines[0]! : 'none',
    'worker alive, never restarted': alive ? 'yes' : 'no',
    'left in queue': left,
    'total (ms)': Date.now() - started,
  });
  printFigures('RabbitMQ fault test 2, RabbitMQ application stopped and started', figures);

  expect(alive).toBe(true); // the same process all along
  expect(ledgerFigures).toMatchObject({ sent: TOTAL, completed: TOTAL, lost: 0, unexpected: 0 });
  expect(ledgerFigures.duplicated).toBeLessThanOrEqual(PREFETCH); // acks lost with the connection only
  expect(left).toBe(0);
  expect(recoveryMs).toBeLessThan(5000);
}, 180_000);
