/**
 * Fanout on RedisBroker against a real Redis: Kombu 5.2.4's exact channel names (with and without the
 * key prefix), its PSUBSCRIBE patterns and bindings, envelopes a Python worker published, the routing
 * key acting as a glob, one subscriber connection per broker, and recovery after it drops.
 *
 * Pub/sub channels are not per database, but their names carry the DB number: the exact-name tests
 * use DB 13 (other test files use 0, 5, 9, 11, 12, 14, 15) and pick their messages out by id.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Delivery } from '../../src/brokers/broker';
import { SEP, bindingMember } from '../../src/brokers/redis/keys';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { BrokerConnectionError, DecodeError } from '../../src/errors';
import { testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const DB = 13;
const ns = testNamespace('redis-fanout', { extraDbs: [DB] });
const url13 = ns.redisUrlForDb(DB);
const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors/redis');
const run = randomBytes(4).toString('hex');

/** A PUBLISH a Python worker sent, from a captured vector: channel and envelope. */
function pythonPublish(file: string, channel: string): string {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8')) as { redis_commands: { cmd: string[] }[] };
  return doc.redis_commands.find((c) => c.cmd[0] === 'PUBLISH' && c.cmd[1] === channel)!.cmd[2]!;
}

/** Test-only view of the fanout part. */
const fanoutOf = (b: RedisBroker) => (b as unknown as { fanout: { subscribedPatterns: string[]; sub: Redis | null } }).fanout;

describe('RedisBroker fanout (Redis only)', () => {
  const brokers: RedisBroker[] = [];
  const clients: Redis[] = [];
  let n = 0;
  const id = (label: string): string => `${label}-${run}-${++n}`;

  async function broker(options: { db?: number; keyPrefix?: string } = {}): Promise<RedisBroker> {
    const b = new RedisBroker({ url: options.db === undefined ? ns.redisUrl : ns.redisUrlForDb(options.db), keyPrefix: options.keyPrefix ?? ns.prefix });
    brokers.push(b);
    await b.connect();
    return b;
  }

  /** A raw subscriber collecting [channel, message] of its patterns. */
  async function listen(...patterns: string[]): Promise<[string, string][]> {
    const sub = new Redis(url13);
    clients.push(sub);
    const got: [string, string][] = [];
    sub.on('pmessage', (_p: string, channel: string, message: string) => got.push([channel, message]));
    await sub.psubscribe(...patterns);
    return got;
  }

  function collect(b: RedisBroker, queues: string[], onError?: (e: unknown) => void): Promise<Delivery[]> {
    const got: Delivery[] = [];
    return b.consume(queues, (d) => void got.push(d), { prefetch: 100, onError }).then(() => got);
  }

  afterAll(async () => {
    await Promise.all(brokers.map((b) => b.close()));
    for (const c of clients) c.disconnect();
    const raw = new Redis(url13);
    // the bindings this file made without a key prefix (members of this run only)
    for (const key of ['_kombu.binding.celeryev', '_kombu.binding.celery.pidbox']) {
      const mine = (await raw.smembers(key)).filter((m) => m.includes(run));
      if (mine.length) await raw.srem(key, ...mine);
    }
    raw.disconnect();
    await ns.cleanup();
  });

  it('publishes on Kombu channels: /{db}.celeryev/<routing key> and /{db}.celery.pidbox', async () => {
    const b = await broker({ db: DB, keyPrefix: '' });
    await b.declareExchange('celeryev', 'fanout');
    await b.declareExchange('celery.pidbox', 'fanout');
    const got = await listen('/13.celeryev/*', '/13.celery.pidbox');
    const [ev, ctl] = [id('ev'), id('ctl')];
    await b.publish(testMessage(ev), { exchange: 'celeryev', routingKey: 'task.multi' });
    await b.publish(testMessage(ctl), { exchange: 'celery.pidbox', routingKey: '' });
    const mine = (): [string, string][] => got.filter(([, m]) => m.includes(run));
    await waitFor(() => mine().length === 2, 5000, 'both broadcasts');
    expect(mine().map(([c]) => c)).toEqual(['/13.celeryev/task.multi', '/13.celery.pidbox']);
    const envelope = JSON.parse(mine()[0]![1]) as { headers: { id: string }; properties: Record<string, unknown> };
    expect(Object.keys(envelope)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    expect(envelope.headers.id).toBe(ev);
    expect(envelope.properties.delivery_info).toEqual({ exchange: 'celeryev', routing_key: 'task.multi' });
    expect(envelope.properties.delivery_tag).toEqual(expect.any(String));
  });

  it('puts the key prefix in front of the channel, as Kombu global_keyprefix does', async () => {
    const prefix = `pfx-${run}:`;
    const b = await broker({ db: DB, keyPrefix: prefix });
    expect(b.keys.fanoutChannel(DB, 'celeryev', 'task.multi')).toBe(`${prefix}/13.celeryev/task.multi`);
    await b.declareExchange('celery.pidbox', 'fanout');
    const got = await listen(`${prefix}/13.*`);
    await b.publish(testMessage(id('p')), { exchange: 'celery.pidbox', routingKey: '' });
    await waitFor(() => got.length === 1, 5000, 'the prefixed broadcast');
    expect(got[0]![0]).toBe(`${prefix}/13.celery.pidbox`);
  });

  it('subscribes and binds as a Python worker does, and reads what it publishes', async () => {
    const b = await broker({ db: DB, keyPrefix: '' });
    const [gossip, pidbox] = [`celeryev.${id('gossip')}`, `worker1@${id('host')}.celery.pidbox`];
    await b.declareQueue({ name: gossip, exchange: 'celeryev', routingKey: 'worker.#', exchangeType: 'fanout' });
    await b.declareQueue({ name: pidbox, exchange: 'celery.pidbox', routingKey: '', exchangeType: 'fanout' });
    const raw = new Redis(url13);
    clients.push(raw);
    // 00_worker_startup: SADD _kombu.binding.celeryev "worker.#\x06\x16\x06\x16celeryev.<uuid>"
    expect(await raw.sismember('_kombu.binding.celeryev', `worker.#${SEP}${SEP}${gossip}`)).toBe(1);
    expect(await raw.sismember('_kombu.binding.celery.pidbox', bindingMember('', '', pidbox))).toBe(1);
    const got = await collect(b, [gossip, pidbox]);
    // 00_worker_startup: PSUBSCRIBE /3.celeryev/worker.* and /3.celery.pidbox (here DB 13)
    expect(fanoutOf(b).subscribedPatterns.sort()).toEqual(['/13.celery.pidbox', '/13.celeryev/worker.*']);

    const heartbeat = pythonPublish('worker/00_worker_startup.json', '/3.celeryev/worker.heartbeat');
    const ping = pythonPublish('worker/13_inspect_ping.json', '/3.celery.pidbox');
    const multi = pythonPublish('worker/10_revoke.json', '/3.celeryev/task.multi');
    await raw.publish('/13.celeryev/task.multi', multi); // not matched by worker.*
    await raw.publish('/13.celery.pidbox/x', ping); // not matched by an empty binding key
    await raw.publish('/13.celeryev/worker.heartbeat', heartbeat);
    await raw.publish('/13.celery.pidbox', ping);
    await waitFor(() => got.length === 2, 5000, 'heartbeat and ping');
    const [hb, pg] = [got.find((d) => d.info.queue === gossip)!, got.find((d) => d.info.queue === pidbox)!];
    expect(hb.info).toMatchObject({ exchange: 'celeryev', routingKey: 'worker.heartbeat', redelivered: false });
    expect(hb.message.headers).toEqual({ hostname: 'worker1@wirehost' });
    expect(JSON.parse(hb.message.body.toString('utf8'))).toMatchObject({ type: 'worker-heartbeat', sw_ident: 'py-celery' });
    expect(pg.info).toMatchObject({ exchange: 'celery.pidbox', routingKey: '' });
    expect(JSON.parse(pg.message.body.toString('utf8'))).toMatchObject({ method: 'ping', destination: null });
    // a later broadcast on a matched channel proves the unmatched ones were not just slow
    await raw.publish('/13.celeryev/worker.online', heartbeat);
    await waitFor(() => got.length === 3, 5000, 'worker.online');
    expect(got.map((d) => d.info.queue)).toEqual([...got.slice(0, 2).map((d) => d.info.queue), gossip]); // info comes from the envelope, as in Kombu
  });

  it('shares one subscriber connection, subscribes a pattern once and unsubscribes it with its last consumer', async () => {
    const b = await broker();
    const ex = id('fx');
    const [q1, q2, q3] = [id('q1'), id('q2'), id('q3')];
    await b.declareQueue({ name: q1, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
    await b.declareQueue({ name: q2, exchange: ex, routingKey: '#' });
    await b.declareQueue({ name: q3, exchange: ex, routingKey: 'only.this' });
    const s1 = await b.consume([q1], () => undefined, { prefetch: 1 });
    const sub = fanoutOf(b).sub!;
    const s2 = await b.consume([q2, q3], () => undefined, { prefetch: 1 });
    expect(fanoutOf(b).sub).toBe(sub);
    const raw = new Redis(ns.redisUrl);
    clients.push(raw);
    const psub = async (): Promise<number> => {
      const line = String(await raw.call('CLIENT', 'LIST')).split('\n').find((l) => l.includes(`addr=127.0.0.1:${sub.stream.localPort} `));
      return Number(/ psub=(\d+)/.exec(line ?? '')?.[1] ?? -1);
    };
    expect(await psub()).toBe(2);
    await s2.cancel();
    expect(fanoutOf(b).subscribedPatterns).toEqual([`${ns.prefix}/${b.db}.${ex}/*`]);
    await waitFor(async () => (await psub()) === 1, 5000, 'one pattern left');
    await s1.cancel();
    await waitFor(async () => (await psub()) === 0, 5000, 'no pattern left');
  });

  it('hands a burst out in order through a window of one, to a handler that returns at once or later', async () => {
    const b = await broker();
    const ex = id('fx');
    const [q1, q2] = [id('sync'), id('async')];
    await b.declareQueue({ name: q1, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
    await b.declareQueue({ name: q2, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
    const seen1: string[] = [];
    const seen2: string[] = [];
    let inFlight = 0;
    let most = 0;
    await b.consume([q1], (d) => void seen1.push(String(d.message.headers.id)), { prefetch: 1 });
    await b.consume([q2], async (d) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setImmediate(r));
      seen2.push(String(d.message.headers.id));
      inFlight--;
    }, { prefetch: 1 });
    const ids = Array.from({ length: 500 }, (_, i) => `m${i}`);
    await b.publishMany(ids.map((i) => ({ message: testMessage(i), route: { exchange: ex, routingKey: 'k' } })));
    await waitFor(() => seen1.length === 500 && seen2.length === 500, 10_000, 'every broadcast twice');
    expect(seen1).toEqual(ids);
    expect(seen2).toEqual(ids);
    expect(most).toBe(1);
  });

  it('reports a broadcast that is not a Kombu envelope and goes on', async () => {
    const b = await broker();
    const ex = id('fx');
    const q = id('q');
    await b.declareQueue({ name: q, exchange: ex, routingKey: '', exchangeType: 'fanout' });
    const errors: unknown[] = [];
    const got = await collect(b, [q], (e) => errors.push(e));
    const raw = new Redis(ns.redisUrl);
    clients.push(raw);
    await raw.publish(b.keys.fanoutChannel(b.db, ex), 'not json');
    await b.publish(testMessage('fine'), { exchange: ex, routingKey: '' });
    await waitFor(() => got.length === 1, 5000, 'the good broadcast');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(DecodeError);
    expect((errors[0] as Error).message).toContain(b.keys.fanoutChannel(b.db, ex));
  });

  it('re-subscribes after the subscriber connection drops, reporting the drop', async () => {
    const b = await broker();
    const ex = id('fx');
    const q = id('q');
    await b.declareQueue({ name: q, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
    const errors: unknown[] = [];
    const got = await collect(b, [q], (e) => errors.push(e));
    const raw = new Redis(ns.redisUrl);
    clients.push(raw);
    await raw.call('CLIENT', 'KILL', 'ADDR', `127.0.0.1:${fanoutOf(b).sub!.stream.localPort}`);
    await waitFor(async () => {
      await b.publish(testMessage('again'), { exchange: ex, routingKey: 'k' });
      return got.length > 0;
    }, 10_000, 'a broadcast after reconnecting', 100);
    expect(errors.length).toBeGreaterThanOrEqual(1);
    expect(errors[0]).toBeInstanceOf(BrokerConnectionError);
  });
});
