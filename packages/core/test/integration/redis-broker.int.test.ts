/**
 * RedisBroker against a real Redis (127.0.0.1:6379): the broker contract, then what only Redis has —
 * Kombu's exact key layout and unacked format, the visibility-timeout restore, the key prefix, URLs,
 * an unreachable server, envelopes written by Python, and the dead-letter list for values that are
 * not envelopes. Fanout: redis-fanout.int.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import type { Delivery } from '../../src/brokers/broker';
import { RedisBroker } from '../../src/brokers/redis/redis-broker';
import { SEP, decodeEnvelope, unackedEntry } from '../../src/brokers/redis/keys';
import { parseRedisUrl } from '../../src/brokers/redis/redis-url';
import { BrokerConnectionError, ConfigError, DecodeError } from '../../src/errors';
import { runBrokerContract, testMessage } from '../contract/broker.contract';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const OTHER_DB = 5;
const ns = testNamespace('redis-broker', { extraDbs: [OTHER_DB] });
const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors/redis');

runBrokerContract('redis', () => new RedisBroker({ url: ns.redisUrl, keyPrefix: ns.prefix }));

/** The exact envelope string a Python client LPUSHed in a captured vector. */
function pythonEnvelope(file: string): { queue: string; text: string } {
  const doc = JSON.parse(fs.readFileSync(path.join(VECTORS, file), 'utf8')) as { redis_commands: { cmd: string[] }[] };
  const push = doc.redis_commands.find((c) => c.cmd[0] === 'LPUSH')!;
  return { queue: push.cmd[1]!, text: push.cmd[2]! };
}

/** Test-only access to the broker's connections. */
interface Internals {
  cmd: Redis;
  consumers: Set<{ blockingId: number | null }>;
}
const internals = (b: RedisBroker): Internals => b as unknown as Internals;

describe('RedisBroker (Redis only)', () => {
  let raw: Redis;
  const brokers: RedisBroker[] = [];
  let n = 0;
  // every test has a key prefix of its own (inside the file's namespace): unacked* are shared keys
  let prefix = '';
  const queue = (): string => `rq${++n}-${randomUUID().slice(0, 6)}`;
  const k = (key: string): string => prefix + key;

  async function broker(options: Partial<ConstructorParameters<typeof RedisBroker>[0]> = {}): Promise<RedisBroker> {
    const b = new RedisBroker({ url: ns.redisUrl, keyPrefix: prefix, ...options });
    brokers.push(b);
    await b.connect();
    return b;
  }

  function hold(b: RedisBroker, queues: string[], onError?: (e: unknown) => void) {
    const got: Delivery[] = [];
    const sub = b.consume(queues, (d) => void got.push(d), { prefetch: 10, onError });
    return { got, sub };
  }

  /** True when every consumer of `b` waits in BRPOP on its own connection. */
  async function blockedInBrpop(b: RedisBroker): Promise<boolean> {
    const consumers = [...internals(b).consumers];
    if (!consumers.length) return false;
    for (const c of consumers) {
      if (c.blockingId === null) return false;
      const line = String(await raw.call('CLIENT', 'LIST', 'ID', String(c.blockingId)));
      if (!line.includes('cmd=brpop')) return false;
    }
    return true;
  }

  beforeAll(async () => {
    raw = new Redis(ns.redisUrl);
  });
  beforeEach(() => {
    prefix = `${ns.prefix}t${++n}:`;
  });
  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });
  afterAll(async () => {
    await ns.cleanup();
    raw.disconnect();
  });

  it('uses Kombu key names: priority lists, bindings, all under the key prefix', async () => {
    const b = await broker();
    const q = queue();
    await b.declareQueue({ name: q, exchange: 'celery', routingKey: q });
    await b.publish(testMessage('p0'), { exchange: '', routingKey: q });
    await b.publish(testMessage('p4', { priority: 4 }), { exchange: '', routingKey: q });
    await b.publish(testMessage('p7', { priority: 7 }), { exchange: 'celery', routingKey: q });
    await b.publish(testMessage('p9', { priority: 9 }), { exchange: '', routingKey: q });
    expect(await raw.llen(k(q))).toBe(1);
    expect(await raw.llen(k(`${q}\x06\x163`))).toBe(1);
    expect(await raw.llen(k(`${q}\x06\x166`))).toBe(1);
    expect(await raw.llen(k(`${q}\x06\x169`))).toBe(1);
    expect(await raw.exists(q)).toBe(0);
    expect(await raw.smembers(k('_kombu.binding.celery'))).toEqual([`${q}\x06\x16\x06\x16${q}`]);
    const env = JSON.parse((await raw.lindex(k(`${q}${SEP}6`), 0))!) as Record<string, unknown>;
    expect(Object.keys(env)).toEqual(['body', 'content-encoding', 'content-type', 'headers', 'properties']);
    const props = env.properties as Record<string, unknown>;
    expect(Object.keys(props)).toEqual(['correlation_id', 'reply_to', 'delivery_mode', 'delivery_info', 'priority', 'body_encoding', 'delivery_tag']);
    expect(props.delivery_info).toEqual({ exchange: 'celery', routing_key: q });
    expect(props.body_encoding).toBe('base64');
    expect(props.delivery_tag).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps an unsettled delivery in unacked/unacked_index in Kombu format, removed on ack', async () => {
    const b = await broker();
    const q = queue();
    await b.publish(testMessage('held'), { exchange: '', routingKey: q });
    const pushed = (await raw.lindex(k(q), 0))!;
    const { got } = hold(b, [q]);
    await waitFor(() => got.length === 1, 5000, 'delivery');
    const tag = got[0]!.info.deliveryTag;
    const entry = await raw.hget(k('unacked'), tag);
    expect(entry).toBe(`[${pushed}, "", ${JSON.stringify(q)}]`);
    const score = Number(await raw.zscore(k('unacked_index'), tag));
    expect(Math.abs(score - Date.now() / 1000)).toBeLessThan(10);
    await got[0]!.ack();
    expect(await raw.hexists(k('unacked'), tag)).toBe(0);
    expect(await raw.zscore(k('unacked_index'), tag)).toBeNull();
  });

  it('records a message taken by BRPOP (consumer already waiting) the same way', async () => {
    const b = await broker();
    const q = queue();
    const { got } = hold(b, [q]);
    await (await b.consume([queue()], () => undefined, { prefetch: 1 })).cancel(); // a cancelled neighbour changes nothing
    await waitFor(() => blockedInBrpop(b), 5000, 'a blocked BRPOP');
    await b.publish(testMessage('late', { priority: 3 }), { exchange: '', routingKey: q });
    await waitFor(() => got.length === 1, 5000, 'delivery');
    const d = got[0]!;
    expect(d.info).toMatchObject({ queue: q, priority: 3, redelivered: false });
    const entry = JSON.parse((await raw.hget(k('unacked'), d.info.deliveryTag))!) as unknown[];
    expect(entry.slice(1)).toEqual(['', q]);
    await d.reject({ requeue: false });
    expect(await raw.hlen(k('unacked'))).toBe(0);
  });

  it('consumes and decodes an envelope written by Python', async () => {
    const b = await broker();
    const q = queue();
    const py = pythonEnvelope('publish/13_unicode_kwargs.json');
    const text = py.text.replace(`"routing_key": "${py.queue}"`, `"routing_key": "${q}"`);
    await raw.lpush(k(q), text);
    const { got } = hold(b, [q]);
    await waitFor(() => got.length === 1, 5000, 'delivery');
    const d = got[0]!;
    const env = JSON.parse(text) as { headers: Record<string, unknown>; body: string; properties: { delivery_tag: string } };
    expect(d.message.headers).toEqual(env.headers);
    expect(d.message.body.toString('base64')).toBe(env.body);
    expect(d.message.body.toString('utf8')).toContain('\\u00e9');
    expect(d.info).toMatchObject({ exchange: '', routingKey: q, queue: q, deliveryTag: env.properties.delivery_tag });
    expect(await raw.hget(k('unacked'), env.properties.delivery_tag)).toBe(unackedEntry(text, '', q));
    await d.restore(); // back first in line, and taken again at once by the same consumer
    await waitFor(() => got.length === 2, 5000, 'the restored delivery');
    expect(got[1]!.info).toMatchObject({ redelivered: true, deliveryTag: d.info.deliveryTag });
    expect(got[1]!.message.headers).toEqual({ ...env.headers, redelivered: true });
    const again = JSON.parse((await raw.hget(k('unacked'), d.info.deliveryTag))!) as [{ properties: { delivery_info: unknown } }, string, string];
    expect(again[0].properties.delivery_info).toEqual({ exchange: '', routing_key: q, redelivered: true });
    expect(again.slice(1)).toEqual(['', q]);
  });

  it('restores unacked messages older than the visibility timeout, Kombu style', async () => {
    const b = await broker({ visibilityTimeout: 1 });
    const q = queue();
    const ex = `ex-${q}`;
    // one entry from the default exchange, one through a binding; a fresh one that must stay
    const py = pythonEnvelope('publish/01_add_delay.json');
    const env1 = py.text.replace(`"routing_key": "${py.queue}"`, `"routing_key": "${q}"`);
    const tag1 = decodeEnvelope(env1).deliveryTag;
    const msg2 = testMessage('via-binding', { priority: 6 });
    await b.declareQueue({ name: q, exchange: ex, routingKey: 'rk' });
    const old = String(Date.now() / 1000 - 100);
    await raw.hset(k('unacked'), tag1, unackedEntry(env1, '', q));
    await raw.zadd(k('unacked_index'), old, tag1);
    await raw.hset(k('unacked'), 'tag-2', unackedEntry(JSON.stringify({ body: msg2.body.toString('base64'), 'content-encoding': 'utf-8', 'content-type': 'application/json', headers: msg2.headers, properties: { priority: 6, delivery_info: { exchange: ex, routing_key: 'rk' }, body_encoding: 'base64', delivery_tag: 'tag-2' } }), ex, 'rk'));
    await raw.zadd(k('unacked_index'), old, 'tag-2');
    await raw.hset(k('unacked'), 'fresh', unackedEntry(env1.replace(tag1, 'fresh'), '', q));
    await raw.zadd(k('unacked_index'), String(Date.now() / 1000 + 5), 'fresh');
    await raw.set(k('unacked_mutex'), 'someone-else', 'PX', 60_000);
    expect(await b.restoreVisible()).toBe(0); // another consumer holds the mutex
    await raw.del(k('unacked_mutex'));
    expect(await b.restoreVisible()).toBe(2);
    expect(await raw.exists(k('unacked_mutex'))).toBe(0);
    expect(await raw.hkeys(k('unacked'))).toEqual(['fresh']);
    const restored = JSON.parse((await raw.lindex(k(q), -1))!) as { headers: Record<string, unknown>; properties: { delivery_info: Record<string, unknown> } };
    expect(restored.headers.redelivered).toBe(true);
    expect(restored.properties.delivery_info).toEqual({ exchange: '', routing_key: q, redelivered: true });
    expect(await raw.llen(k(`${q}${SEP}6`))).toBe(1);
    // and a consumer started later gets both, marked redelivered
    await raw.hdel(k('unacked'), 'fresh');
    await raw.zrem(k('unacked_index'), 'fresh');
    const { got } = hold(b, [q]);
    await waitFor(() => got.length === 2, 5000, 'two restored deliveries');
    expect(got.map((d) => d.info.redelivered)).toEqual([true, true]);
    expect(got.map((d) => d.info.deliveryTag)).toEqual([tag1, 'tag-2']);
  });

  it('restores on consume start', async () => {
    const b = await broker({ visibilityTimeout: 1 });
    const q = queue();
    const py = pythonEnvelope('publish/01_add_delay.json');
    const env = py.text.replace(`"routing_key": "${py.queue}"`, `"routing_key": "${q}"`);
    const tag = decodeEnvelope(env).deliveryTag;
    await raw.hset(k('unacked'), tag, unackedEntry(env, '', q));
    await raw.zadd(k('unacked_index'), String(Date.now() / 1000 - 30), tag);
    const { got } = hold(b, [q]);
    await waitFor(() => got.length === 1, 5000, 'the restored delivery');
    expect(got[0]!.info).toMatchObject({ deliveryTag: tag, redelivered: true, queue: q });
    expect(got[0]!.message.headers.redelivered).toBe(true);
  });

  describe('dead-letter list', () => {
    interface DeadLetter {
      reason: string;
      list: string;
      time: number;
      payload: string;
    }
    const deadLetters = async (): Promise<DeadLetter[]> => (await raw.lrange(k('celeriac.dead_letter'), 0, -1)).map((e) => JSON.parse(e) as DeadLetter);

    /** Pushes `values` then a good message; consumes until the good one arrives. */
    async function consumeAfter(values: string[], options: { whileBlocked?: boolean } = {}) {
      const b = await broker();
      const q = queue();
      const errors: unknown[] = [];
      if (!options.whileBlocked) for (const v of values) await raw.lpush(k(q), v);
      const { got } = hold(b, [q], (e) => errors.push(e));
      if (options.whileBlocked) {
        await waitFor(() => blockedInBrpop(b), 5000, 'a blocked BRPOP');
        for (const v of values) await raw.lpush(k(q), v);
      }
      await b.publish(testMessage('good'), { exchange: '', routingKey: q });
      await waitFor(() => got.length === 1 && errors.length === values.length, 5000, 'the good message and the reports');
      expect(got[0]!.message.headers.id).toBe('good');
      expect(await raw.llen(k(q))).toBe(0);
      await got[0]!.ack();
      expect(await raw.hlen(k('unacked'))).toBe(0);
      for (const e of errors) expect(e).toBeInstanceOf(DecodeError);
      return { q, errors: errors as Error[], dead: await deadLetters() };
    }

    it('moves JSON that is not an envelope there in the fetch script, with the reason', async () => {
      const value = '{"hello": "world"}';
      const before = Date.now() / 1000;
      const { q, errors, dead } = await consumeAfter([value]);
      expect(dead).toEqual([{ reason: 'Redis message is not a Kombu envelope (no "properties" object)', list: k(q), time: expect.any(Number), payload: value }]);
      expect(dead[0]!.time).toBeGreaterThanOrEqual(before - 1);
      expect(errors[0]!.message).toContain('no "properties" object');
      expect(errors[0]!.message).toContain(k('celeriac.dead_letter'));
    });

    it('moves a value that is not JSON there, and one the fetch script recorded but that does not decode', async () => {
      // the second one has a tag, exchange and routing key where the script's patterns find them
      const notEnvelope = '{"body": 1, "headers": {}, "properties": {"delivery_info": {"exchange": "", "routing_key": "x"}, "delivery_tag": "dl-tag"}}';
      const { errors, dead } = await consumeAfter(['not json at all', notEnvelope]);
      expect(dead.map((d) => d.payload).sort()).toEqual([notEnvelope, 'not json at all'].sort());
      // decodeEnvelope's reason (with a preview): the script recorded it in unacked, the consumer moved it
      expect(dead.find((d) => d.payload === notEnvelope)!.reason).toMatch(/\("body" is not a string\): \{"body": 1/);
      expect(dead.find((d) => d.payload !== notEnvelope)!.reason).toContain('not JSON');
      expect(errors.map((e) => e.message).join('\n')).toContain('dead-letter list');
      expect(await raw.zscore(k('unacked_index'), 'dl-tag')).toBeNull();
    });

    it('moves a value BRPOP returned there', async () => {
      const { q, dead } = await consumeAfter(['[1, 2, 3]'], { whileBlocked: true });
      expect(dead).toEqual([expect.objectContaining({ list: k(q), payload: '[1, 2, 3]', reason: expect.stringContaining('not a JSON object') })]);
    });
  });

  it('isolates brokers with different key prefixes', async () => {
    const a = await broker();
    const other = await broker({ keyPrefix: `${ns.prefix}other:` });
    const q = queue();
    await a.publish(testMessage('mine'), { exchange: '', routingKey: q });
    expect(await a.queueLength(q)).toBe(1);
    expect(await other.queueLength(q)).toBe(0);
    await other.declareQueue({ name: q, exchange: 'x', routingKey: 'k' });
    await expect(a.publish(testMessage('none'), { exchange: 'x', routingKey: 'k' })).rejects.toThrow(/not routable/);
  });

  it('rotates between queues of one priority', async () => {
    const b = await broker();
    const q1 = queue();
    const q2 = queue();
    for (let i = 0; i < 3; i++) {
      await b.publish(testMessage(`a${i}`), { exchange: '', routingKey: q1 });
      await b.publish(testMessage(`b${i}`), { exchange: '', routingKey: q2 });
    }
    await b.publish(testMessage('a-high', { priority: 9 }), { exchange: '', routingKey: q1 });
    const { got } = hold(b, [q1, q2]);
    await waitFor(() => got.length === 7, 5000, 'seven deliveries');
    expect(got.map((d) => d.message.headers.id)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2', 'a-high']);
  });

  it('honours the database number of the URL', async () => {
    const b = await broker({ url: ns.redisUrlForDb(OTHER_DB) });
    expect(b.db).toBe(OTHER_DB);
    const q = queue();
    await b.publish(testMessage('db5'), { exchange: '', routingKey: q });
    const other = new Redis(ns.redisUrlForDb(OTHER_DB));
    try {
      expect(await other.llen(k(q))).toBe(1);
      expect(await raw.llen(k(q))).toBe(0);
    } finally {
      other.disconnect();
    }
  });

  it('rejects bad URLs and options with a ConfigError', () => {
    for (const url of ['http://localhost:6379', 'redis://localhost:notaport', 'redis://localhost/abc', 'redis://localhost?nope=1', 'localhost:6379']) {
      expect(() => new RedisBroker({ url })).toThrow(ConfigError);
    }
    expect(() => new RedisBroker({ url: ns.redisUrl, visibilityTimeout: 0 })).toThrow(ConfigError);
    expect(() => new RedisBroker({ url: ns.redisUrl, batchSize: 0 })).toThrow(ConfigError);
  });

  it('parses Celery-style Redis URLs into ioredis options', () => {
    expect(parseRedisUrl('redis://')).toMatchObject({ db: 0, tls: false, options: { host: 'localhost', port: 6379, db: 0 } });
    expect(parseRedisUrl('redis://:p%40ss@example.com:6380/3')).toMatchObject({ db: 3, options: { host: 'example.com', port: 6380, password: 'p@ss', db: 3 }, redacted: 'redis://:***@example.com:6380/3' });
    expect(parseRedisUrl('redis://user:pw@[::1]/2').options).toMatchObject({ host: '::1', username: 'user', password: 'pw', db: 2 });
    const tls = parseRedisUrl('rediss://h:6390/1?ssl_cert_reqs=CERT_NONE&socket_connect_timeout=1.5');
    expect(tls).toMatchObject({ tls: true, options: { tls: { servername: 'h', rejectUnauthorized: false }, connectTimeout: 1500 } });
    expect(() => parseRedisUrl('redis://h?ssl_cert_reqs=none')).toThrow(/rediss/);
    expect(() => parseRedisUrl('redis://h:1/x')).toThrow(/database "x"/);
    expect(() => parseRedisUrl('amqp://h')).toThrow(/scheme "amqp:"/);
  });

  it('fails fast with BrokerConnectionError when Redis is unreachable', async () => {
    const b = new RedisBroker({ url: 'redis://:secret@127.0.0.1:1/0', connectionTimeout: 2 });
    brokers.push(b);
    let started = Date.now();
    const err = await b.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerConnectionError);
    expect(b.isRecoverable(err)).toBe(true);
    expect((err as Error).message).not.toContain('secret');
    expect(Date.now() - started).toBeLessThan(3000);
    started = Date.now();
    const pub = await b.publish(testMessage('x'), { exchange: '', routingKey: 'q' }).catch((e: unknown) => e);
    expect(pub).toBeInstanceOf(BrokerConnectionError);
    expect(b.isRecoverable(pub)).toBe(true);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('publish on a dropped connection fails fast; the consumer reports and recovers', async () => {
    const b = await broker();
    const q = queue();
    const errors: unknown[] = [];
    const { got } = hold(b, [q], (e) => errors.push(e));
    await waitFor(() => blockedInBrpop(b), 5000, 'a blocked BRPOP');
    // kill both connections of this broker from the server side
    const ids = [await internals(b).cmd.client('ID'), ...[...internals(b).consumers].map((c) => c.blockingId!)];
    for (const id of ids) await raw.call('CLIENT', 'KILL', 'ID', String(id));
    await b.publish(testMessage('after-drop'), { exchange: '', routingKey: q }).catch((e: unknown) => {
      expect(e).toBeInstanceOf(BrokerConnectionError);
    });
    await waitFor(async () => {
      await b.publish(testMessage('retry'), { exchange: '', routingKey: q }).catch(() => undefined);
      return got.length > 0;
    }, 10_000, 'a delivery after reconnecting');
    expect(errors.every((e) => b.isRecoverable(e))).toBe(true);
  });

  it('isRecoverable: connection errors yes, others no', async () => {
    const b = new RedisBroker({ url: ns.redisUrl });
    const econn = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(b.isRecoverable(econn)).toBe(true);
    expect(b.isRecoverable(new Error('Connection is closed.'))).toBe(true);
    expect(b.isRecoverable(Object.assign(new Error('x'), { name: 'MaxRetriesPerRequestError' }))).toBe(true);
    expect(b.isRecoverable(new Error('WRONGTYPE Operation against a key'))).toBe(false);
    expect(b.isRecoverable(new ConfigError('k', 'bad'))).toBe(false);
    expect(b.isRecoverable('nope')).toBe(false);
  });
});
