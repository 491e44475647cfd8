/**
 * Fault test on Redis (issue 4, test 3): 10,000 malformed or hostile messages LPUSHed raw into the
 * queue's list (Kombu's layout, keys.ts) interleaved with 2,000 valid tasks, consumed by one
 * `celeriac worker` child process. The worker never exits; every valid task runs once; every hostile
 * message is accounted for, by category:
 * - bad JSON (not a Kombu envelope at all): moved to the dead-letter list `celeriac.dead_letter` with
 *   its reason, a consumer error logged for each;
 * - bad base64 body, wrong body shape, wrong header types, unaccepted content type: rejected with a
 *   logged reason ("Rejecting invalid message ...") and, where the id is a string, a FAILURE stored;
 * - unknown task: NotRegistered logged and stored as FAILURE;
 * - eta in year 9999: not run (a timer over 2^31-1 ms would fire at once): held unacked by the worker
 *   or deferred to the delayed set `celeriac.delayed`, never in the queue;
 * - huge (a 20 MB argument): processed like any task (Celery sets no size limit either).
 * Nothing is left in the queue. Build first: `npx tsc -b tsconfig.json`.
 */
import { randomUUID } from 'node:crypto';
import { KombuKeys, encodeEnvelope } from '../../src/brokers/redis/keys';
import { FaultLedger, printFigures } from '../helpers/fault-ledger';
import { startFaultWorker, stopAllFaultWorkers } from '../helpers/fault-worker';
import { HOSTILE_CATEGORIES, HUGE_BYTES, hostilePlan, plannedWire, reasonCategory, type HostileCategory, type Planned } from '../helpers/hostile-messages';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const HOSTILE = 10_000;
const VALID = 2_000;
const HUGE = 3;

const ns = testNamespace('fault-redis-hostile');
const ledger = new FaultLedger(ns.redisUrl, ns.prefix);
const redis = ledger.redis;
const keys = new KombuKeys(ns.prefix);
const QUEUE = keys.queueList('celery', 0);
const ROUTE = { exchange: 'celery', routingKey: 'celery' };

afterAll(async () => {
  await stopAllFaultWorkers();
  ledger.close();
  await ns.cleanup();
}, 30_000);

/** What goes into the list for one planned message. */
function rawValue(p: Planned): string {
  if (p.kind === 'bad-json') {
    const junk = ['{"body": "e30=", "headers": {', `not json at all ${p.n}`, "{'python': 'repr'}", '[1, 2', '', '\u0000\u0001\u00ff'];
    return junk[p.n % junk.length]!;
  }
  if (p.kind === 'bad-base64') {
    const envelope = JSON.parse(encodeEnvelope(plannedWire({ kind: 'valid', id: p.id, n: p.n }), ROUTE, randomUUID())) as { body: string };
    envelope.body = ['***not base64***', '%%%%', `eyJhIjo=!!!${p.n}`][p.n % 3]!;
    return JSON.stringify(envelope);
  }
  return encodeEnvelope(plannedWire(p), ROUTE, randomUUID());
}

it(`survives ${HOSTILE} hostile messages among ${VALID} valid ones, accounting for each`, async () => {
  const plan = hostilePlan(HOSTILE, VALID, HUGE);
  const expected = new Map<HostileCategory, Planned[]>(HOSTILE_CATEGORIES.map((c) => [c, plan.filter((p) => p.kind === c)]));
  const runnable = plan.filter((p) => p.kind === 'valid' || p.kind === 'huge').map((p) => p.id!);
  const started = Date.now();
  const worker = startFaultWorker({ brokerUrl: ns.redisUrl, ledgerUrl: ns.redisUrl, prefix: ns.prefix, concurrency: 16, name: 'hostile' });
  await worker.ready;

  // In plan order; the worker pops from the other end, so it sees them in this order too.
  for (let i = 0; i < plan.length; ) {
    const pipe = redis.pipeline();
    for (let bytes = 0; i < plan.length && bytes < 8_000_000; i++) {
      const value = rawValue(plan[i]!);
      pipe.lpush(QUEUE, value);
      bytes += value.length;
    }
    await pipe.exec();
  }
  const pushedMs = Date.now() - started;

  const reasons = (): Map<HostileCategory, Set<string>> => {
    const out = new Map<HostileCategory, Set<string>>(HOSTILE_CATEGORIES.map((c) => [c, new Set()]));
    let anonymous = 0;
    for (const line of worker.lines) {
      const c = reasonCategory(line);
      if (c) out.get(c)!.add(typeof line.id === 'string' ? line.id : `anonymous-${anonymous++}`);
      if (line.msg === 'Consumer error' && line.err?.message?.includes('dead-letter list')) out.get('bad-json')!.add(`dead-${anonymous++}`);
    }
    return out;
  };
  const deadLetterKey = keys.deadLetter;
  const etaAccounted = async (): Promise<number> => (await redis.hlen(keys.unacked)) + (await redis.zcard(keys.delayed));
  const queued = async (): Promise<number> => (await Promise.all(keys.queueLists('celery').map((k) => redis.llen(k)))).reduce((a, b) => a + b, 0);
  const rejectedKinds: HostileCategory[] = ['bad-base64', 'wrong-shape', 'unknown-task', 'content-type', 'header-types'];
  await waitFor(
    async () => {
      const r = reasons();
      return (
        (await ledger.distinct()) >= runnable.length &&
        (await queued()) === 0 &&
        (await redis.llen(deadLetterKey)) >= expected.get('bad-json')!.length &&
        (await etaAccounted()) >= expected.get('eta-9999')!.length &&
        [...rejectedKinds, 'bad-json' as const].every((c) => r.get(c)!.size >= expected.get(c)!.length)
      );
    },
    90_000,
    'every message consumed and accounted for',
    100,
  );
  const doneMs = Date.now() - started;

  // FAILURE stored for each rejected message whose id is a string.
  const failureIds = plan.filter((p) => rejectedKinds.includes(p.kind as HostileCategory) && p.id).map((p) => p.id!);
  const states: (string | null)[] = [];
  for (let i = 0; i < failureIds.length; i += 1000) states.push(...(await redis.mget(failureIds.slice(i, i + 1000).map((id) => `${ns.prefix}celery-task-meta-${id}`))));
  const failures = states.filter((s) => s !== null && (JSON.parse(s) as { status: string }).status === 'FAILURE').length;
  const deadLetters = (await redis.lrange(deadLetterKey, 0, -1)).map((e) => JSON.parse(e) as { reason: string; list: string; payload: string });
  const ledgerFigures = await ledger.figures(runnable);
  const sizes = Object.values(await redis.hgetall(`${ns.prefix}sizes`)).map(Number);
  const r = reasons();
  const etaLogged = new Set(worker.lines.filter((l) => typeof l.id === 'string' && l.id.startsWith('h-eta-9999-')).map((l) => l.id));
  const figures: Record<string, number | string> = {
    'messages pushed': plan.length,
    'push (ms)': pushedMs,
    ...Object.fromEntries(HOSTILE_CATEGORIES.map((c) => [`sent ${c}`, expected.get(c)!.length])),
    ...Object.fromEntries([...rejectedKinds, 'bad-json' as const].map((c) => [`reason logged ${c}`, r.get(c)!.size])),
    'dead-lettered (bad-json)': deadLetters.length,
    'FAILURE stored (rejected with a string id)': `${failures} of ${failureIds.length}`,
    'eta-9999 held unacked by the worker': await redis.hlen(keys.unacked),
    'eta-9999 deferred to celeriac.delayed': await redis.zcard(keys.delayed),
    'huge (20 MB) processed': sizes.filter((s) => s === HUGE_BYTES).length,
    'valid + huge sent': ledgerFigures.sent,
    'valid + huge completed': ledgerFigures.completed,
    lost: ledgerFigures.lost,
    duplicated: ledgerFigures.duplicated,
    'left in queue': await queued(),
    'worker exits': worker.alive ? 0 : 1,
    'consumed in (ms)': doneMs,
  };
  printFigures('Redis fault test 3, hostile messages', figures);

  expect(worker.alive).toBe(true);
  // unexpected = a run of a task not meant to run: an eta-9999 one fired early would show here
  expect(ledgerFigures).toMatchObject({ sent: VALID + HUGE, completed: VALID + HUGE, lost: 0, duplicated: 0, unexpected: 0 });
  expect(sizes).toEqual(Array(HUGE).fill(HUGE_BYTES));
  expect(deadLetters).toHaveLength(expected.get('bad-json')!.length);
  for (const d of deadLetters) {
    expect(d.list).toBe(QUEUE);
    expect(d.reason).toMatch(/\S/);
  }
  for (const c of [...rejectedKinds, 'bad-json' as const]) expect([c, r.get(c)!.size]).toEqual([c, expected.get(c)!.length]);
  for (const c of rejectedKinds) {
    const ids = expected.get(c)!.filter((p) => p.id).map((p) => p.id!);
    expect([c, ids.filter((id) => !r.get(c)!.has(id))]).toEqual([c, []]); // each one's own reason line
  }
  expect(failures).toBe(failureIds.length);
  expect(await etaAccounted()).toBe(expected.get('eta-9999')!.length);
  expect(expected.get('eta-9999')!.filter((p) => !etaLogged.has(p.id))).toEqual([]);
  expect(await queued()).toBe(0);
  // A warm stop gives held ETA messages back to the queue (cleaned up with the prefix).
  expect(await worker.kill('SIGTERM')).toBe('0');
}, 150_000);
