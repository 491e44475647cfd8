/**
 * AmqpBroker against a real RabbitMQ (127.0.0.1:5672), in a vhost of this file's own (deleted with
 * everything in it afterwards): the broker contract with AMQP's documented differences, then what only
 * AMQP has — Celery's declarations, header tables a py-amqp consumer can read (Gotcha 2), priorities
 * with x-max-priority, a 406 on redeclaration, unroutable publishes, held messages renewing the
 * consumer's credit, and a lost connection. The full worker over AMQP: amqp-worker.int.test.ts.
 */
import { execFile } from 'node:child_process';
import { connect } from 'amqplib';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Delivery } from '../../src/brokers/broker';
import { AmqpBroker } from '../../src/brokers/amqp/amqp-broker';
import { BrokerConnectionError, BrokerError } from '../../src/errors';
import { runBrokerContract, testMessage } from '../contract/broker.contract';
import { closeVhostConnections } from '../helpers/amqp-connections';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);
const PYTHON = process.env.CELERIAC_TEST_PYTHON ?? '/usr/bin/python3';
const PEER = path.join(__dirname, '..', 'interop', 'py', 'amqp-peer.py');

let vhost: TestVhost;
beforeAll(async () => {
  vhost = await createTestVhost('amqp-broker');
});
afterAll(() => vhost.delete());

runBrokerContract('amqp', () => new AmqpBroker({ url: vhost.url }), { declareQueues: { maxPriority: 9 }, requeuePosition: 'original', prefetchCountsUnacked: true });

/** py-amqp (Celery's AMQP client) on this file's vhost: see interop/py/amqp-peer.py. */
async function py<T>(command: 'get' | 'publish' | 'declare', arg: object): Promise<T> {
  const { stdout } = await run(PYTHON, [PEER, vhost.name, command, JSON.stringify(arg)], { timeout: 20_000 });
  return JSON.parse(stdout) as T;
}

async function rabbitmqctl(...args: string[]): Promise<string> {
  return (await run('rabbitmqctl', ['-q', ...args], { timeout: 20_000 })).stdout;
}

describe('AmqpBroker (AMQP only)', () => {
  const brokers: AmqpBroker[] = [];
  let n = 0;
  const name = (kind: string): string => `${kind}-${++n}-${Math.random().toString(36).slice(2, 8)}`;

  async function broker(options: Partial<ConstructorParameters<typeof AmqpBroker>[0]> = {}): Promise<AmqpBroker> {
    const b = new AmqpBroker({ url: vhost.url, ...options });
    brokers.push(b);
    await b.connect();
    return b;
  }

  /** A queue as Celery declares it for a queue name (task_create_missing_queues). */
  async function celeryQueue(b: AmqpBroker, maxPriority?: number): Promise<string> {
    const q = name('q');
    await b.declareQueue({ name: q, exchange: q, routingKey: q, maxPriority });
    return q;
  }

  afterEach(async () => {
    await Promise.all(brokers.splice(0).map((b) => b.close()));
  });

  it("declares Celery's entities: durable queue without arguments, durable direct exchange named like it, bound with the key", async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const p = await celeryQueue(b, 10);
    const pidbox = name('celery.pidbox');
    await b.declareExchange(pidbox, 'fanout'); // as Kombu's Mailbox: non-durable
    const queues = await listQueues(vhost.name);
    expect(queues.find((r) => r.name === q)).toEqual({ name: q, durable: true, auto_delete: false, arguments: {} });
    expect(queues.find((r) => r.name === p)).toEqual({ name: p, durable: true, auto_delete: false, arguments: { 'x-max-priority': 10 } });
    const exchanges = JSON.parse(await rabbitmqctl('list_exchanges', '-p', vhost.name, 'name', 'type', 'durable', 'auto_delete', 'arguments', '--formatter', 'json')) as Array<Record<string, unknown>>;
    expect(exchanges.find((e) => e.name === q)).toEqual({ name: q, type: 'direct', durable: true, auto_delete: false, arguments: [] });
    expect(exchanges.find((e) => e.name === pidbox)).toEqual({ name: pidbox, type: 'fanout', durable: false, auto_delete: false, arguments: [] });
    const bindings = JSON.parse(await rabbitmqctl('list_bindings', '-p', vhost.name, 'source_name', 'destination_name', 'routing_key', '--formatter', 'json')) as Array<Record<string, unknown>>;
    expect(bindings).toContainEqual({ source_name: q, destination_name: q, routing_key: q });
    // Kombu declares the same queue the same way (x-max-priority as int32 'I'): no 406
    await expect(py('declare', { queue: p, arguments: { 'x-max-priority': 10 } })).resolves.toBe('ok');
    await expect(py('declare', { queue: q })).resolves.toBe('ok');
  });

  it('types header integers so that py-amqp reads them (Gotcha 2: 128..32767 would be int16)', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const headers = {
      lang: 'js', retries: 200, timelimit: [300, 200], group_index: 500, small: 7, negative: -5, edge: 32767, int32: 2_000_000_000,
      big: 2 ** 40, ratio: 0.25, flag: true, none: null, nested: { deep: [1000, { n: 129 }], text: 'héllo' },
    };
    await b.publish({ ...testMessage('typed'), headers }, { exchange: '', routingKey: q });
    const got = await py<{ headers: Record<string, unknown>; properties: Record<string, unknown>; body: string }>('get', { queue: q });
    expect(got.headers).toEqual(headers);
    expect(got.properties).toMatchObject({ content_type: 'application/json', content_encoding: 'utf-8', delivery_mode: 2, priority: 0, correlation_id: 'typed', reply_to: 'reply-oid' });
  });

  it('reads headers py-amqp wrote, typed values (timestamp, decimal) made plain', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    await py('publish', { queue: q, headers: { lang: 'py', retries: 500, timelimit: [300, null], eta: null, nested: { a: [1, 'b'] } } });
    const got: Delivery[] = [];
    await b.consume([q], (d) => void got.push(d), { prefetch: 1 });
    await waitFor(() => got.length === 1, 5000, 'the message from Python');
    expect(got[0]!.message.headers).toEqual({ lang: 'py', retries: 500, timelimit: [300, null], eta: null, nested: { a: [1, 'b'] }, when: '2026-01-02T03:04:05.000Z', price: 12.34 });
    expect(got[0]!.message.contentType).toBe('application/json');
    await got[0]!.ack();
  });

  it('rejects a message whose headers cannot be read (a timestamp out of range), reports it, and goes on', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    // published by another client: Celeriac never writes such a header
    const conn = await connect(vhost.url);
    const ch = await conn.createConfirmChannel();
    ch.publish('', q, Buffer.from('[[], {}, {}]'), { contentType: 'application/json', headers: { id: 'unreadable', when: { '!': 'timestamp', value: 1e13 } } });
    await ch.waitForConfirms();
    await conn.close();
    await b.publish(testMessage('readable'), { exchange: '', routingKey: q });
    const got: Delivery[] = [];
    const errors: unknown[] = [];
    await b.consume([q], (d) => void got.push(d), { prefetch: 10, onError: (e) => errors.push(e) });
    await waitFor(() => got.length === 1 && errors.length === 1, 5000, 'the readable message and the error about the other');
    expect(errors[0]).toBeInstanceOf(BrokerError);
    expect((errors[0] as Error).message).toMatch(new RegExp(`Rejected a message from "${q}" that could not be read`));
    expect(got[0]!.message.headers.id).toBe('readable');
    await got[0]!.ack();
    // the unreadable one was rejected, not left unacked: closing the consumer brings nothing back
    await b.close();
    const after = await broker();
    expect(await after.queueLength(q)).toBe(0);
    expect(got).toHaveLength(1);
  });

  it('serves 9 first on a queue with x-max-priority (celery-wire §4.4: 0,9,5,2,6 -> 9,6,5,2,0)', async () => {
    const b = await broker();
    const q = await celeryQueue(b, 10);
    for (const p of [0, 9, 5, 2, 6]) await b.publish(testMessage(`p${p}`, { priority: p }), { exchange: '', routingKey: q });
    const got: Delivery[] = [];
    await b.consume([q], (d) => void got.push(d), { prefetch: 10 });
    await waitFor(() => got.length === 5, 5000, 'five deliveries');
    expect(got.map((d) => d.info.priority)).toEqual([9, 6, 5, 2, 0]);
    for (const d of got) await d.ack();
  });

  it('turns a 406 on redeclaration into a clear BrokerError, and keeps working', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const other = await broker();
    const err = await other.declareQueue({ name: q, exchange: q, routingKey: q, maxPriority: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerError);
    expect(other.isRecoverable(err)).toBe(false);
    expect((err as Error).message).toContain(`queue "${q}"`);
    expect((err as Error).message).toContain('"x-max-priority"');
    // the connection survived: the same broker publishes, consumes and declares
    await other.publish(testMessage('still-here'), { exchange: '', routingKey: q });
    const q2 = await celeryQueue(other);
    await other.publish(testMessage('next'), { exchange: '', routingKey: q2 });
    expect(await other.queueLength(q)).toBe(1);
    expect(await other.queueLength(q2)).toBe(1);
    const exchangeErr = await other.declareQueue({ name: name('q'), exchange: q, routingKey: 'k', exchangeType: 'topic' }).catch((e: unknown) => e);
    expect((exchangeErr as Error).message).toMatch(new RegExp(`exchange "${q}".*type`));
  });

  it('rejects an unroutable publish (mandatory, basic.return) without harming the others in flight', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const missing = name('missing');
    const results = await Promise.allSettled([
      b.publish(testMessage('ok1'), { exchange: '', routingKey: q }),
      b.publish(testMessage('lost'), { exchange: '', routingKey: missing }),
      b.publish(testMessage('ok2'), { exchange: '', routingKey: q }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as Error;
    expect(reason).toBeInstanceOf(BrokerError);
    expect(reason.message).toContain(missing);
    expect(b.isRecoverable(reason)).toBe(false);
    await expect(b.publishMany([{ message: testMessage('lost'), route: { exchange: '', routingKey: missing } }])).rejects.toBeInstanceOf(BrokerError);
    expect(await b.queueLength(q)).toBe(2);
  });

  it('routes topic exchanges by pattern; an event nobody listens to is dropped without error, as with Kombu', async () => {
    const b = await broker();
    const ex = name('celeryev');
    const q = name('celeryev.listener');
    await b.declareQueue({ name: q, exchange: ex, routingKey: 'worker.#', exchangeType: 'topic' });
    await b.publish(testMessage('heartbeat'), { exchange: ex, routingKey: 'worker.heartbeat' });
    await b.publish(testMessage('unheard'), { exchange: ex, routingKey: 'task.succeeded' }); // no error
    expect(await b.queueLength(q)).toBe(1);
    const exchanges = JSON.parse(await rabbitmqctl('list_exchanges', '-p', vhost.name, 'name', 'type', 'durable', '--formatter', 'json')) as Array<Record<string, unknown>>;
    expect(exchanges.find((e) => e.name === ex)).toEqual({ name: ex, type: 'topic', durable: true });
  });

  it('keeps delivering while handlers return without settling (held, like ETA tasks), then settles them all', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const held: Delivery[] = [];
    const errors: unknown[] = [];
    await b.consume([q], (d) => void held.push(d), { prefetch: 2, onError: (e) => errors.push(e) });
    await b.publishMany(Array.from({ length: 7 }, (_, i) => ({ message: testMessage(`h${i}`), route: { exchange: '', routingKey: q } })));
    await waitFor(() => held.length === 7, 5000, 'all seven held messages');
    expect(held.map((d) => d.message.headers.id)).toEqual(['h0', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
    await Promise.all(held.map((d, i) => (i % 2 ? d.ack() : d.reject({ requeue: false }))));
    expect(errors).toEqual([]);
    await b.close();
    const fresh = await broker();
    expect(await fresh.queueLength(q)).toBe(0); // every one settled, none given back by the close
  });

  it('gives unsettled messages back when closed (RabbitMQ requeues them, redelivered)', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const got: Delivery[] = [];
    await b.consume([q], (d) => void got.push(d), { prefetch: 5 });
    await b.publish(testMessage('unsettled'), { exchange: '', routingKey: q });
    await waitFor(() => got.length === 1, 5000, 'one delivery');
    await b.close();
    const again: Delivery[] = [];
    const c = await broker();
    await c.consume([q], (d) => void again.push(d), { prefetch: 5 });
    await waitFor(() => again.length === 1, 5000, 'the redelivery');
    expect(again[0]!.info.redelivered).toBe(true);
    await got[0]!.ack(); // its channel is gone: a no-op, not an error
    await again[0]!.ack();
  });

  it('survives a lost connection: consumers resume, publishes wait for the reconnect, every message arrives', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const seen = new Set<string>();
    const errors: unknown[] = [];
    let lost = false;
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const before: Delivery[] = [];
    await b.consume(
      [q],
      async (d) => {
        if (!lost) {
          // in a handler call when the connection goes: its ack becomes a no-op, RabbitMQ redelivers
          before.push(d);
          await gate;
          await d.ack();
          return;
        }
        seen.add(String(d.message.headers.id));
        await d.ack();
      },
      { prefetch: 3, onError: (e) => errors.push(e) },
    );
    await b.publishMany(['a', 'b', 'c', 'd'].map((id) => ({ message: testMessage(id), route: { exchange: '', routingKey: q } })));
    await waitFor(() => before.length === 3, 5000, 'three deliveries in handler calls');
    lost = true;
    expect(await closeVhostConnections(vhost.name)).toBeGreaterThan(0);
    await waitFor(() => errors.some((e) => e instanceof BrokerConnectionError), 5000, 'the loss to be reported');
    open();
    await b.publish(testMessage('e'), { exchange: '', routingKey: q }); // waits for the reconnect
    await waitFor(() => seen.size === 5, 15_000, 'all five messages after the reconnect');
    expect([...seen].sort()).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(before.map((d) => d.message.headers.id)).toEqual(['a', 'b', 'c']);
    expect(errors.every((e) => b.isRecoverable(e))).toBe(true);
    expect(await b.queueLength(q)).toBe(0);
  });

  it('deletes a queue with its messages; a missing one is no error', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    await b.publish(testMessage('gone'), { exchange: '', routingKey: q });
    await b.deleteQueue({ name: q, exchange: q, routingKey: q });
    expect((await listQueues(vhost.name)).some((r) => r.name === q)).toBe(false);
    await b.deleteQueue({ name: q, exchange: q, routingKey: q });
    await expect(b.publish(testMessage('lost'), { exchange: '', routingKey: q })).rejects.toBeInstanceOf(BrokerError);
  });

  it('declares again after a reconnect what it declared: a queue deleted meanwhile comes back and is consumed', async () => {
    const b = await broker();
    const q = await celeryQueue(b);
    const got: string[] = [];
    const errors: unknown[] = [];
    await b.consume([q], (d) => (got.push(String(d.message.headers.id)), d.ack()), { prefetch: 2, onError: (e) => errors.push(e) });
    const other = await broker();
    await other.deleteQueue({ name: q, exchange: q, routingKey: q });
    await waitFor(() => errors.some((e) => /cancelled the consumer/.test((e as Error).message)), 5000, 'the server-side cancel to be reported');
    expect(await closeVhostConnections(vhost.name)).toBeGreaterThan(0);
    await waitFor(async () => (await listQueues(vhost.name)).some((r) => r.name === q), 10_000, 'the queue to be declared again');
    await b.publish(testMessage('back'), { exchange: '', routingKey: q });
    await waitFor(() => got.length === 1, 10_000, 'the message on the queue declared again');
    expect(got).toEqual(['back']);
  });

  it('fails connect() at once with a recoverable BrokerConnectionError when RabbitMQ is unreachable', async () => {
    const b = new AmqpBroker({ url: 'amqp://guest:guest@127.0.0.1:1/x', connectionTimeout: 1 });
    const err = await b.connect().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BrokerConnectionError);
    expect(b.isRecoverable(err)).toBe(true);
    await expect(b.publish(testMessage('x'), { exchange: '', routingKey: 'q' })).rejects.toBeInstanceOf(BrokerConnectionError);
    await b.close();
  });

  it('classifies driver errors as Kombu does', async () => {
    const b = new AmqpBroker({ url: vhost.url });
    const withCode = (message: string, code: number | string): Error => Object.assign(new Error(message), { code });
    expect(b.isRecoverable(withCode('connect ECONNREFUSED', 'ECONNREFUSED'))).toBe(true);
    expect(b.isRecoverable(withCode('Connection closed: 320 (CONNECTION-FORCED)', 320))).toBe(true);
    expect(b.isRecoverable(new Error('Heartbeat timeout'))).toBe(true);
    expect(b.isRecoverable(withCode('Channel closed by server: 404 (NOT-FOUND)', 404))).toBe(false);
    expect(b.isRecoverable(withCode('Channel closed by server: 406 (PRECONDITION-FAILED)', 406))).toBe(false);
    expect(b.isRecoverable(new BrokerError('x'))).toBe(false);
    expect(b.isRecoverable(new TypeError('bug'))).toBe(false);
    await b.close();
  });
});
