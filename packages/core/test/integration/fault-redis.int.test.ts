/**
 * Fault tests on Redis (issue 4), 10,000 acksLate tasks each, run by `celeriac worker` child processes
 * of the fault fixture app; every execution counted in a ledger apart from the broker
 * (helpers/fault-ledger.ts), figures printed.
 *
 * 1. The worker is SIGKILLed twice mid-run and started again: every task completes, none lost. What a
 *    killed worker held stays in Kombu's `unacked` and comes back by the visibility timeout (2 s here,
 *    restored when the next worker starts and every 10 s); duplicates are only tasks whose ack died
 *    with the worker, at most one prefetch window per kill.
 * 2. The Redis server itself is killed mid-run and started again on the same port (a private,
 *    append-only redis-server, fsync on every write, so the kill loses nothing acknowledged): no task
 *    lost, the same worker process goes on within 5 s of Redis answering again.
 *
 * The kill test uses the shared Redis under this file's key prefix, the restart test a redis-server of
 * its own (the shared one is never stopped). Build first: `npx tsc -b tsconfig.json`.
 */
import { Redis } from 'ioredis';
import { KombuKeys } from '../../src/brokers/redis/keys';
import { FaultLedger, printFigures } from '../helpers/fault-ledger';
import { publishFaultTasks, startFaultWorker, stopAllFaultWorkers, type FaultWorker } from '../helpers/fault-worker';
import { testNamespace } from '../helpers/namespace';
import { freePort, privateRedis, type PrivateRedis } from '../helpers/redis-server';
import { waitFor } from '../helpers/wait';

const TOTAL = 10_000;
/** Simulated work per task: the run lasts several seconds, long enough to kill in the middle. */
const WORK_MS = 10;
const CONCURRENCY = 16;
/** The worker's prefetch window (concurrency x the default multiplier, 4): what a kill can orphan. */
const PREFETCH = CONCURRENCY * 4;
const KILLS = 2;
/** How long the Redis server stays down (CELERIAC_FAULT_OUTAGE_MS to try others). */
const OUTAGE_MS = Number(process.env.CELERIAC_FAULT_OUTAGE_MS ?? 3000);

const ns = testNamespace('fault-redis');
const keys = new KombuKeys(ns.prefix);
const ledger = new FaultLedger(ns.redisUrl, ns.prefix);
let server: PrivateRedis | undefined;

afterAll(async () => {
  await stopAllFaultWorkers();
  ledger.close();
  await server?.stop();
  await ns.cleanup();
}, 30_000);

/** Publishes TOTAL `fault.work` tasks to `brokerUrl` in batches; returns their ids. */
function publishAll(brokerUrl: string): Promise<string[]> {
  return publishFaultTasks({ brokerUrl, brokerTransportOptions: { globalKeyprefix: ns.prefix } }, TOTAL, WORK_MS);
}

/** Messages still in the queue's lists (all four priorities), and those unacked. */
async function leftInBroker(redis: Redis): Promise<{ queued: number; unacked: number }> {
  const lens = await Promise.all(keys.queueLists('celery').map((k) => redis.llen(k)));
  return { queued: lens.reduce((a, b) => a + b, 0), unacked: await redis.hlen(keys.unacked) };
}

const startWorker = (brokerUrl: string, name: string, visibilityTimeout: number): FaultWorker =>
  startFaultWorker({ brokerUrl, ledgerUrl: ns.redisUrl, prefix: ns.prefix, concurrency: CONCURRENCY, visibilityTimeout, name });

it(`runs all of ${TOTAL} acksLate tasks through ${KILLS} SIGKILLs of the worker`, async () => {
  const started = Date.now();
  const sent = await publishAll(ns.redisUrl);
  const figures: Record<string, number | string> = { 'publish (ms)': Date.now() - started };
  let worker = startWorker(ns.redisUrl, 'kill-0', 2);
  await worker.ready;
  const restarts: number[] = [];
  for (let k = 1; k <= KILLS; k++) {
    const at = Math.round((TOTAL * k) / (KILLS + 1));
    await waitFor(async () => (await ledger.distinct()) >= at, 60_000, `${at} tasks done before kill ${k}`, 10);
    expect(await worker.kill('SIGKILL')).toBe('SIGKILL');
    const killedAt = Date.now();
    figures[`kill ${k}: tasks done at the kill`] = await ledger.distinct();
    worker = startWorker(ns.redisUrl, `kill-${k}`, 2);
    await worker.ready;
    const before = await ledger.executions();
    await waitFor(async () => (await ledger.executions()) > before, 30_000, `a task done after restart ${k}`, 10);
    restarts.push((await ledger.firstCompletionAfter(killedAt))! - killedAt);
    figures[`kill ${k}: kill to first completion by the new worker (ms)`] = restarts[k - 1]!;
  }
  await waitFor(async () => (await ledger.distinct()) >= TOTAL, 60_000, `all ${TOTAL} tasks done`, 50);
  await waitFor(async () => (await leftInBroker(ledger.redis)).unacked === 0, 10_000, 'the last acks');
  const ledgerFigures = await ledger.figures(sent);
  const left = await leftInBroker(ledger.redis);
  Object.assign(figures, ledgerFigures, { kills: KILLS, 'duplicates allowed (prefetch x kills)': PREFETCH * KILLS, 'left in queue': left.queued, 'left unacked': left.unacked, 'total (ms)': Date.now() - started });
  printFigures('Redis fault test 1, worker SIGKILLed twice (acksLate)', figures);

  expect(ledgerFigures).toMatchObject({ sent: TOTAL, completed: TOTAL, lost: 0, unexpected: 0 });
  expect(ledgerFigures.duplicated).toBeLessThanOrEqual(PREFETCH * KILLS);
  expect(left).toEqual({ queued: 0, unacked: 0 });
  expect(worker.alive).toBe(true);
  expect(await worker.kill('SIGTERM')).toBe('0'); // the last one stops warm and cleanly
}, 150_000);

it(`runs all of ${TOTAL} tasks through a kill and restart of the Redis server, resuming within 5 s`, async () => {
  await ledger.redis.del(ledger.runsKey, ledger.timesKey);
  server = privateRedis(await freePort(), { durable: true });
  await server.start();
  const started = Date.now();
  const sent = await publishAll(server.url);
  const figures: Record<string, number | string> = { 'publish (ms)': Date.now() - started };
  const worker = startWorker(server.url, 'restart', 5);
  await worker.ready;
  await waitFor(async () => (await ledger.distinct()) >= TOTAL * 0.3, 60_000, 'a third of the tasks done', 10);
  const consumerErrorsBefore = worker.count((l) => l.msg === 'Consumer error');
  await server.kill();
  const downAt = Date.now();
  figures['tasks done when Redis was killed'] = await ledger.distinct();
  // The outage is a duration, not a condition: the worker keeps trying meanwhile.
  await new Promise((r) => setTimeout(r, OUTAGE_MS));
  await server.start();
  const backAt = Date.now();
  figures['outage, killed to answering again (ms)'] = backAt - downAt;
  figures['tasks done during the outage (held by the worker)'] = await ledger.completionsBetween(downAt, backAt);
  await waitFor(async () => (await ledger.firstCompletionAfter(backAt)) !== undefined, 20_000, 'a task done after Redis came back', 10);
  const recoveryMs = (await ledger.firstCompletionAfter(backAt))! - backAt;
  figures['recovery, Redis answering to first task done (ms)'] = recoveryMs;
  await waitFor(async () => (await ledger.distinct()) >= TOTAL, 60_000, `all ${TOTAL} tasks done`, 50);
  const broker = new Redis(server.url);
  let left: { queued: number; unacked: number };
  try {
    // acks lost with the connection leave their messages unacked: restored after 5 s, run again, acked
    await waitFor(async () => (await leftInBroker(broker)).unacked === 0, 30_000, 'nothing left unacked');
    left = await leftInBroker(broker);
  } finally {
    broker.disconnect();
  }
  const ledgerFigures = await ledger.figures(sent);
  Object.assign(figures, ledgerFigures, {
    'consumer errors logged during the outage': worker.count((l) => l.msg === 'Consumer error') - consumerErrorsBefore,
    'worker alive, never restarted': worker.alive ? 'yes' : 'no',
    'left in queue': left.queued,
    'left unacked': left.unacked,
    'total (ms)': Date.now() - started,
  });
  printFigures('Redis fault test 2, Redis server killed and restarted', figures);

  expect(worker.alive).toBe(true); // the same process all along
  expect(ledgerFigures).toMatchObject({ sent: TOTAL, completed: TOTAL, lost: 0, unexpected: 0 });
  expect(ledgerFigures.duplicated).toBeLessThanOrEqual(PREFETCH); // acks lost at the kill only
  expect(left).toEqual({ queued: 0, unacked: 0 });
  expect(recoveryMs).toBeLessThan(5000);
  expect(await worker.kill('SIGTERM')).toBe('0');
}, 150_000);
