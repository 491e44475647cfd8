/**
 * Delayed delivery on Redis (redis-delayed.ts) against a real Redis: `publishDelayed` stores the
 * message in `celeriac.delayed` and a consuming broker moves it back to its queue when due, atomically
 * (two movers never move one message), to the list of its priority, envelope and `eta` header intact;
 * `Delivery.defer` moves a held message there in one step; a worker hands an ETA beyond its hold limit (or half the visibility timeout) to it and runs it once.
 * Isolation: a key prefix per test inside this file's namespace, deleted afterwards.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Celeriac, Worker, createLogger } from '../../src';
import type { Delivery } from '../../src/brokers/broker';
import { SEP, decodeEnvelope } from '../../src/brokers/redis/keys';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { DecodeError } from '../../src/errors';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { deferred, waitFor } from '../helpers/wait';

const ns = testNamespace('redis-delayed');
let raw: Redis;
let prefix = '';
let n = 0;
const brokers: RedisBroker[] = [];
const apps: Celeriac[] = [];
const workers: Worker[] = [];

async function broker(options: { visibilityTimeout?: number } = {}): Promise<RedisBroker> {
  const b = new RedisBroker({ url: ns.redisUrl, keyPrefix: prefix, ...options });
  brokers.push(b);
  await b.connect();
  return b;
}

function app(options: { visibilityTimeout?: number } = {}): Celeriac {
  const a = new Celeriac({
    brokerUrl: ns.redisUrl,
    brokerTransportOptions: { globalKeyprefix: prefix, ...options },
    resultBackend: `memory://${randomUUID()}`,
    logger: createLogger('silent'),
  });
  apps.push(a);
  return a;
}

beforeAll(() => {
  raw = new Redis(ns.redisUrl);
});
beforeEach(() => {
  prefix = `${ns.prefix}t${++n}:`;
});
afterEach(async () => {
  for (const w of workers.splice(0)) await w.close();
  for (const a of apps.splice(0)) await a.close();
  for (const b of brokers.splice(0)) await b.close();
});
afterAll(async () => {
  raw.disconnect();
  await ns.cleanup();
});

test('a delayed message waits in celeriac.delayed, then a consumer moves it to its queue, envelope intact', async () => {
  const b = await broker();
  const q = `dq-${randomUUID().slice(0, 6)}`;
  const message = testMessage('later');
  message.headers.eta = '2030-01-01T00:00:00+00:00';
  const got: Delivery[] = [];
  const sub = await b.consume([q], async (d) => {
    got.push(d);
    await d.ack();
  }, { prefetch: 10 });
  const sentAt = Date.now();
  await b.publishDelayed(message, q, 0.4);
  expect(await raw.zcard(`${prefix}celeriac.delayed`)).toBe(1);
  const [member] = await raw.zrange(`${prefix}celeriac.delayed`, 0, -1);
  expect(JSON.parse(member!)).toMatchObject({ queue: q, list: q });
  await waitFor(() => got.length === 1, 5000, 'the delayed message');
  expect(Date.now() - sentAt).toBeGreaterThanOrEqual(390);
  expect(got[0]!.message.headers).toMatchObject({ id: 'later', eta: '2030-01-01T00:00:00+00:00' });
  expect(got[0]!.message.body.equals(message.body)).toBe(true);
  expect(got[0]!.info).toMatchObject({ exchange: '', routingKey: q, queue: q, redelivered: false });
  expect(await raw.zcard(`${prefix}celeriac.delayed`)).toBe(0);
  await sub.cancel();
});

test('1,000 delayed messages, two brokers moving at once: every message lands on the queue exactly once', async () => {
  const [a, b] = [await broker(), await broker()];
  const q = `dq-${randomUUID().slice(0, 6)}`;
  const ids = Array.from({ length: 1000 }, (_, i) => `m${i}`);
  await Promise.all(ids.map((id, i) => (i % 2 ? a : b).publishDelayed(testMessage(id), q, 0.2)));
  expect(await raw.zcard(`${prefix}celeriac.delayed`)).toBe(1000);
  let moved = 0;
  await waitFor(async () => {
    // many overlapping moves from both brokers, each script atomic
    const counts = await Promise.all([a, b, a, b, a, b].map((x) => x.moveDelayed()));
    moved += counts.reduce((s, c) => s + c, 0);
    return moved >= 1000;
  }, 5000, 'every message moved', 20);
  expect(moved).toBe(1000);
  expect(await raw.zcard(`${prefix}celeriac.delayed`)).toBe(0);
  const listed = (await raw.lrange(`${prefix}${q}`, 0, -1)).map((e) => String(decodeEnvelope(e).message.headers.id));
  expect(listed).toHaveLength(1000);
  expect(new Set(listed).size).toBe(1000);
});

test('two consuming brokers (the movers of two workers): each of 1,000 delayed messages is delivered exactly once', async () => {
  const [a, b, client] = [await broker(), await broker(), await broker()];
  const q = `dq-${randomUUID().slice(0, 6)}`;
  const seen = new Map<string, number>();
  const handler = async (d: Delivery): Promise<void> => {
    const id = String(d.message.headers.id);
    seen.set(id, (seen.get(id) ?? 0) + 1);
    await d.ack();
  };
  const subs = [await a.consume([q], handler, { prefetch: 50 }), await b.consume([q], handler, { prefetch: 50 })];
  await Promise.all(Array.from({ length: 1000 }, (_, i) => client.publishDelayed(testMessage(`m${i}`), q, 0.5)));
  await waitFor(() => seen.size === 1000, 10_000, '1000 deliveries');
  await waitFor(async () => (await raw.zcard(`${prefix}celeriac.delayed`)) === 0 && (await raw.llen(`${prefix}${q}`)) === 0, 5000, 'nothing left');
  expect([...seen.values()].filter((c) => c !== 1)).toEqual([]);
  for (const s of subs) await s.cancel();
});

test('a delayed message goes to the list of its priority; priority 0 is served first', async () => {
  const b = await broker();
  const q = `dq-${randomUUID().slice(0, 6)}`;
  const at = (id: string, priority: number) => {
    const m = testMessage(id);
    m.properties.priority = priority;
    return m;
  };
  await b.publishDelayed(at('p9', 9), q, 0);
  await b.publishDelayed(at('p6', 6), q, 0);
  await b.publishDelayed(at('p0', 0), q, 0);
  expect(await b.moveDelayed()).toBe(3);
  expect(await raw.llen(`${prefix}${q}`)).toBe(1);
  expect(await raw.llen(`${prefix}${q}${SEP}6`)).toBe(1);
  expect(await raw.llen(`${prefix}${q}${SEP}9`)).toBe(1);
  const order: string[] = [];
  const sub = await b.consume([q], async (d) => {
    order.push(String(d.message.headers.id));
    await d.ack();
  }, { prefetch: 1 });
  await waitFor(() => order.length === 3, 5000, 'three deliveries');
  expect(order).toEqual(['p0', 'p6', 'p9']);
  await sub.cancel();
});

test('due messages moved in one batch are served earliest-due first', async () => {
  const b = await broker();
  const q = `dq-${randomUUID().slice(0, 6)}`;
  for (const [id, delay] of [['c', 0.03], ['a', 0.01], ['b', 0.02]] as const) await b.publishDelayed(testMessage(id), q, delay);
  await waitFor(async () => (await raw.zcount(`${prefix}celeriac.delayed`, '-inf', Date.now() - 10)) === 3, 2000, 'all due', 10);
  expect(await b.moveDelayed()).toBe(3);
  const served = (await raw.lrange(`${prefix}${q}`, 0, -1)).reverse().map((e) => decodeEnvelope(e).message.headers.id); // RPOP order
  expect(served).toEqual(['a', 'b', 'c']);
});

test('a member that is not a delayed delivery goes to the dead-letter list, reported once, not retried', async () => {
  const b = await broker();
  const q = `dq-${randomUUID().slice(0, 6)}`;
  await raw.zadd(`${prefix}celeriac.delayed`, 1, 'not json');
  const errors: unknown[] = [];
  const sub = await b.consume([q], () => undefined, { prefetch: 1, onError: (e) => errors.push(e) });
  await waitFor(() => errors.length > 0, 5000, 'the report');
  expect(errors[0]).toBeInstanceOf(DecodeError);
  expect(await raw.zcard(`${prefix}celeriac.delayed`)).toBe(0);
  const [entry] = await raw.lrange(`${prefix}celeriac.dead_letter`, 0, -1);
  expect(JSON.parse(entry!)).toMatchObject({ payload: 'not json', list: `${prefix}celeriac.delayed` });
  await sub.cancel();
});

test('Delivery.defer turns the held message into a delayed member in one step: out of unacked, envelope as received', async () => {
  const b = await broker();
  const q = `dq-${randomUUID().slice(0, 6)}`;
  const pushed = JSON.stringify({ body: Buffer.from('[[], {}, {}]').toString('base64'), 'content-encoding': 'utf-8', 'content-type': 'application/json', headers: { id: 'py-1', task: 't', eta: '2030-01-01T00:00:00+00:00' }, properties: { delivery_info: { exchange: '', routing_key: q }, priority: 0, body_encoding: 'base64', delivery_tag: 'tag-py-1' } });
  await raw.lpush(`${prefix}${q}`, pushed);
  const got: Delivery[] = [];
  const sub = await b.consume([q], (d) => void got.push(d), { prefetch: 1 });
  await waitFor(() => got.length === 1, 5000, 'the delivery');
  expect(await raw.hexists(`${prefix}unacked`, 'tag-py-1')).toBe(1);
  await expect(got[0]!.defer!(0.3)).resolves.toBe(true);
  expect(await raw.hlen(`${prefix}unacked`)).toBe(0);
  expect(await raw.zcard(`${prefix}unacked_index`)).toBe(0);
  const [member] = await raw.zrange(`${prefix}celeriac.delayed`, 0, -1);
  expect(JSON.parse(member!)).toEqual({ queue: q, list: q, envelope: pushed });
  await expect(got[0]!.defer!(0.3)).resolves.toBe(false); // settled already
  await waitFor(() => got.length === 2, 5000, 'the message back, moved by the consumer');
  expect(got[1]!.message.headers).toMatchObject({ id: 'py-1', eta: '2030-01-01T00:00:00+00:00' });
  await got[1]!.ack();
  await sub.cancel();
});

test('Delivery.defer adds nothing when restore_visible already gave the message back', async () => {
  const b = await broker({ visibilityTimeout: 1 });
  const q = `dq-${randomUUID().slice(0, 6)}`;
  await b.publish(testMessage('held'), { exchange: '', routingKey: q });
  const got: Delivery[] = [];
  const gate = deferred();
  // the handler keeps its prefetch slot (1), so the restored copy stays on the queue
  const sub = await b.consume([q], (d) => (got.push(d), gate.promise), { prefetch: 1 });
  await waitFor(() => got.length === 1, 5000, 'the delivery');
  await waitFor(async () => (await b.restoreVisible()) === 1, 5000, 'the visibility timeout to restore it', 100);
  await expect(got[0]!.defer!(60)).resolves.toBe(false);
  expect(await raw.zcard(`${prefix}celeriac.delayed`)).toBe(0);
  expect(await b.queueLength(q)).toBe(1); // the restored copy, the only one
  gate.resolve();
  await sub.cancel();
});

test('publishDelayed refuses a negative delay', async () => {
  const b = await broker();
  await expect(b.publishDelayed(testMessage('x'), 'q', -1)).rejects.toThrow(/0 seconds or more/);
  expect(b.capabilities.nativeDelay).toBe(true);
});

test('a worker defers an ETA beyond its hold limit to celeriac.delayed (nothing held) and runs it once, on time', async () => {
  const a = app();
  const runs: number[] = [];
  const stamp = a.task('t.stamp', async () => {
    runs.push(Date.now());
    return 'ran';
  });
  const w = new Worker(a, { concurrency: 2, etaHoldLimit: 1, remoteControl: false });
  workers.push(w);
  await w.start();
  const eta = new Date(Date.now() + 2500);
  const r = await stamp.applyAsync([], { eta });
  // deferred (ZADD), then acked: in the delayed set, not unacked
  await waitFor(async () => (await raw.zcard(`${prefix}celeriac.delayed`)) === 1 && (await raw.hlen(`${prefix}unacked`)) === 0, 5000, 'the deferred message, acked');
  expect(w.scheduledRequests()).toEqual([]);
  expect(await a.broker.queueLength('celery')).toBe(0);
  await expect(r.get({ timeout: 10_000 })).resolves.toBe('ran');
  expect(runs).toHaveLength(1);
  expect(runs[0]!).toBeGreaterThanOrEqual(eta.getTime() - 5);
  expect(runs[0]! - eta.getTime()).toBeLessThan(1500);
}, 20_000);

test('the hold limit stays under half the visibility timeout, whatever etaHoldLimit says', async () => {
  const a = app({ visibilityTimeout: 2 });
  expect(a.broker.maxHoldSeconds).toBe(2);
  const t = a.task('t.later', async () => 'ok');
  const w = new Worker(a, { concurrency: 1, etaHoldLimit: 300, remoteControl: false });
  workers.push(w);
  await w.start();
  const r = await t.applyAsync([], { countdown: 1.5 }); // > 1 s: deferred, not held
  await waitFor(async () => (await raw.zcard(`${prefix}celeriac.delayed`)) === 1, 5000, 'the deferred message');
  expect(w.scheduledRequests()).toEqual([]);
  await expect(r.get({ timeout: 10_000 })).resolves.toBe('ok');
  const near = await t.applyAsync([], { countdown: 0.5 }); // < 1 s: held in memory
  await waitFor(() => w.scheduledRequests().length === 1, 5000, 'the held ETA task');
  await expect(near.get({ timeout: 5000 })).resolves.toBe('ok');
}, 20_000);
