/**
 * Fault test on RabbitMQ (issue 4, test 3): 10,000 malformed or hostile messages published raw with
 * amqplib (odd bodies, properties and header types) interleaved with 2,000 valid tasks, consumed by
 * one `celeriac worker` child process whose queue dead-letters to an exchange of the test's
 * (x-dead-letter-exchange). The worker never exits; every valid task runs once; every hostile message
 * is accounted for, by category:
 * - bad JSON body, bad bytes (the `bad-base64` category: AMQP bodies are raw bytes, so its analogue is
 *   a body that is not UTF-8 at all), wrong body shape, wrong header types, unaccepted or missing
 *   content type, unknown task: rejected without requeue, so dead-lettered (each found in the DLX
 *   queue, x-death reason `rejected`), with a logged reason, and a FAILURE stored where the id is a
 *   string;
 * - eta in year 9999: not run (a timer over 2^31-1 ms would fire at once) but deferred to the delay
 *   levels (`celery_delayed_*`, at most 2^28 - 1 s at a time), so nothing is held meanwhile;
 * - huge (a 20 MB argument): processed like any task (Celery sets no size limit either).
 * Nothing is left in the queue. A vhost of this file's own, deleted afterwards. Build first:
 * `npx tsc -b tsconfig.json`.
 */
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { encodeHeaders, decodeHeaders } from '../../src/brokers/amqp/amqp-headers';
import type { WireMessage } from '../../src/protocol/wire-message';
import { FaultLedger, printFigures } from '../helpers/fault-ledger';
import { startFaultWorker, stopAllFaultWorkers } from '../helpers/fault-worker';
import { HOSTILE_CATEGORIES, HUGE_BYTES, hostilePlan, plannedWire, reasonCategory, type HostileCategory, type Planned } from '../helpers/hostile-messages';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const HOSTILE = 10_000;
const VALID = 2_000;
const HUGE = 3;
const DLX = 'fault.dlx';
const DEAD = 'fault.dead';
/** Rejected without requeue, so dead-lettered. */
const REJECTED: HostileCategory[] = ['bad-json', 'bad-base64', 'wrong-shape', 'unknown-task', 'content-type', 'header-types'];

const ns = testNamespace('fault-amqp-hostile');
const ledger = new FaultLedger(ns.redisUrl, ns.prefix);
let vhost: TestVhost | undefined;
let conn: ChannelModel | undefined;

afterAll(async () => {
  await stopAllFaultWorkers();
  await conn?.close().catch(() => undefined);
  ledger.close();
  await vhost?.delete();
  await ns.cleanup();
}, 30_000);

/** What is published for one planned message. */
function wireOf(p: Planned): WireMessage {
  if (p.kind === 'bad-json') {
    const junk = ['{"args": [1], ', `not json at all ${p.n}`, "[[], {}, {'python': 'repr'}]", '', '[1, 2'];
    return { ...plannedWire({ kind: 'valid', id: p.id, n: p.n }), body: Buffer.from(junk[p.n % junk.length]!) };
  }
  if (p.kind === 'bad-base64') {
    const bytes = [Buffer.from([0xff, 0xfe, 0x00, 0x80, 0xc3]), Buffer.from('5b5b5d2c7b7d2c7b7d5d', 'hex').subarray(0, 3), Buffer.from([0x1f, 0x8b, 0x08, 0x00])];
    return { ...plannedWire({ kind: 'valid', id: p.id, n: p.n }), body: bytes[p.n % bytes.length]! };
  }
  return plannedWire(p);
}

async function publishAll(ch: ConfirmChannel, plan: Planned[]): Promise<void> {
  for (let i = 0; i < plan.length; i++) {
    const wire = wireOf(plan[i]!);
    const options: Parameters<ConfirmChannel['publish']>[3] = { headers: encodeHeaders(wire.headers), deliveryMode: 2, correlationId: plan[i]!.id ?? undefined };
    if (wire.contentType) options.contentType = wire.contentType;
    if (wire.contentEncoding) options.contentEncoding = wire.contentEncoding;
    ch.publish('', 'celery', wire.body, options);
    if (i % 500 === 499) await ch.waitForConfirms();
  }
  await ch.waitForConfirms();
}

it(`survives ${HOSTILE} hostile messages among ${VALID} valid ones, accounting for each`, async () => {
  vhost = await createTestVhost('fault-amqp-hostile');
  conn = await connect(vhost.url);
  const admin = await conn.createChannel();
  await admin.assertExchange(DLX, 'fanout', { durable: true });
  await admin.assertQueue(DEAD, { durable: true });
  await admin.bindQueue(DEAD, DLX, '');

  const plan = hostilePlan(HOSTILE, VALID, HUGE);
  const expected = new Map<HostileCategory, Planned[]>(HOSTILE_CATEGORIES.map((c) => [c, plan.filter((p) => p.kind === c)]));
  const runnable = plan.filter((p) => p.kind === 'valid' || p.kind === 'huge').map((p) => p.id!);
  const rejectedCount = REJECTED.reduce((n, c) => n + expected.get(c)!.length, 0);
  const started = Date.now();
  const worker = startFaultWorker({ brokerUrl: vhost.url, ledgerUrl: ns.redisUrl, prefix: ns.prefix, concurrency: 16, name: 'hostile', deadLetterExchange: DLX });
  await worker.ready; // the queue is declared, with its dead-letter exchange
  await publishAll(await conn.createConfirmChannel(), plan);
  const publishedMs = Date.now() - started;

  const reasons = (): Map<HostileCategory, Set<string>> => {
    const out = new Map<HostileCategory, Set<string>>(HOSTILE_CATEGORIES.map((c) => [c, new Set()]));
    let anonymous = 0;
    for (const line of worker.lines) {
      const c = reasonCategory(line);
      if (c) out.get(c)!.add(typeof line.id === 'string' ? line.id : `anonymous-${anonymous++}`);
    }
    return out;
  };
  const count = async (queue: string): Promise<number> => (await admin.checkQueue(queue)).messageCount;
  const delayed = async (): Promise<number> => {
    let n = 0;
    for (let level = 0; level < 28; level++) n += await count(`celery_delayed_${level}`).catch(() => 0);
    return n;
  };
  await waitFor(
    async () => {
      const r = reasons();
      return (
        (await ledger.distinct()) >= runnable.length &&
        (await count('celery')) === 0 &&
        (await count(DEAD)) >= rejectedCount &&
        (await delayed()) >= expected.get('eta-9999')!.length &&
        REJECTED.every((c) => r.get(c)!.size >= expected.get(c)!.length)
      );
    },
    90_000,
    'every message consumed and accounted for',
    200,
  );
  const doneMs = Date.now() - started;

  // Read the dead letters back: which messages, and why RabbitMQ dead-lettered them.
  const dead: { id: unknown; reason: unknown }[] = [];
  const reader = await conn.createChannel();
  await reader.prefetch(1000);
  await reader.consume(DEAD, (m: ConsumeMessage | null) => {
    if (!m) return;
    const headers = decodeHeaders(m.properties.headers);
    const death = (headers['x-death'] as Array<Record<string, unknown>> | undefined)?.[0];
    dead.push({ id: headers.id, reason: death?.reason });
    reader.ack(m);
  });
  await waitFor(() => dead.length >= rejectedCount, 30_000, 'the dead letters read back', 20);

  const failureIds = plan.filter((p) => REJECTED.includes(p.kind as HostileCategory) && p.id).map((p) => p.id!);
  const states: (string | null)[] = [];
  for (let i = 0; i < failureIds.length; i += 1000) states.push(...(await ledger.redis.mget(failureIds.slice(i, i + 1000).map((id) => `${ns.prefix}celery-task-meta-${id}`))));
  const failures = states.filter((s) => s !== null && (JSON.parse(s) as { status: string }).status === 'FAILURE').length;
  const ledgerFigures = await ledger.figures(runnable);
  const sizes = Object.values(await ledger.redis.hgetall(`${ns.prefix}sizes`)).map(Number);
  const r = reasons();
  const deadIds = new Set(dead.map((d) => d.id));
  const etaLogged = new Set(worker.lines.filter((l) => typeof l.id === 'string' && l.id.startsWith('h-eta-9999-')).map((l) => l.id));
  const figures: Record<string, number | string> = {
    'messages published': plan.length,
    'publish (ms)': publishedMs,
    ...Object.fromEntries(HOSTILE_CATEGORIES.map((c) => [`sent ${c}`, expected.get(c)!.length])),
    ...Object.fromEntries(REJECTED.map((c) => [`reason logged ${c}`, r.get(c)!.size])),
    'dead-lettered (DLX queue)': dead.length,
    'FAILURE stored (rejected with a string id)': `${failures} of ${failureIds.length}`,
    'eta-9999 deferred to the delay levels': await delayed(),
    'huge (20 MB) processed': sizes.filter((s) => s === HUGE_BYTES).length,
    'valid + huge sent': ledgerFigures.sent,
    'valid + huge completed': ledgerFigures.completed,
    lost: ledgerFigures.lost,
    duplicated: ledgerFigures.duplicated,
    'left in queue': await count('celery'),
    'worker exits': worker.alive ? 0 : 1,
    'consumed in (ms)': doneMs,
  };
  printFigures('RabbitMQ fault test 3, hostile messages', figures);

  expect(worker.alive).toBe(true);
  // unexpected = a run of a task not meant to run: an eta-9999 one fired early would show here
  expect(ledgerFigures).toMatchObject({ sent: VALID + HUGE, completed: VALID + HUGE, lost: 0, duplicated: 0, unexpected: 0 });
  expect(sizes).toEqual(Array(HUGE).fill(HUGE_BYTES));
  expect(dead).toHaveLength(rejectedCount);
  expect(dead.filter((d) => d.reason !== 'rejected')).toEqual([]);
  for (const c of REJECTED) {
    expect([c, r.get(c)!.size]).toEqual([c, expected.get(c)!.length]);
    const ids = expected.get(c)!.filter((p) => p.id).map((p) => p.id!);
    expect([c, ids.filter((id) => !r.get(c)!.has(id) || !deadIds.has(id))]).toEqual([c, []]); // its own reason line, and dead-lettered
  }
  expect(failures).toBe(failureIds.length);
  expect(await delayed()).toBe(expected.get('eta-9999')!.length);
  expect(expected.get('eta-9999')!.filter((p) => !etaLogged.has(p.id))).toEqual([]);
  expect(await worker.kill('SIGTERM')).toBe('0');
  expect(await count('celery')).toBe(0); // nothing was held either
}, 150_000);
