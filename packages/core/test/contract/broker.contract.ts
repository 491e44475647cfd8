/**
 * The behaviour every Broker promises, run against each implementation:
 * `runBrokerContract('memory', () => new MemoryBroker({ name: randomUUID() }))`.
 *
 * Each test gets fresh brokers from `factory` (connected here, closed after the test) and queue and
 * exchange names of its own. What is asserted is what both the memory broker and Kombu's Redis
 * transport guarantee; notably a message given back with `reject({ requeue: true })` goes to the back
 * of its queue *and* is marked redelivered (redis.py `QoS.reject` -> `restore_by_tag(leftmost=True)`
 * -> `_do_restore_message` sets the flags), while `restore()` puts it first in line, also redelivered.
 *
 * Where AMQP legitimately differs, the difference is a parameter ({@link BrokerContractOptions}), so
 * that the other transports keep being held to the stricter promise: RabbitMQ has no implicit queues,
 * puts a rejected message back at its original place, and counts unacked messages in its prefetch.
 *
 * Fanout (when `capabilities.fanout`): what Kombu's Redis transport guarantees and Celery relies on
 * for events and pidbox (broker.ts): every queue bound to the exchange and being consumed gets each
 * message, nothing is stored, settling does nothing. Routing-key filtering is transport-specific and
 * tested per transport.
 */
import { randomBytes } from 'node:crypto';
import type { Broker, Delivery, QueueDeclaration, Subscription } from '../../src/brokers/broker';
import { BrokerError } from '../../src/errors';
import type { WireMessage } from '../../src/protocol/wire-message';
import { deferred, waitFor } from '../helpers/wait';
import type { Deferred } from '../helpers/wait';

export type BrokerFactory = () => Broker | Promise<Broker>;

/** How a transport legitimately differs from the memory and Redis brokers; all off by default. */
export interface BrokerContractOptions {
  /**
   * The transport has no implicit queues (AMQP: publishing to the default exchange with the name of an
   * undeclared queue is unroutable, consuming it is a 404). The contract then declares each queue a
   * test publishes to or consumes, before it does, as the app does (Celery's task_create_missing_queues:
   * an exchange and a routing key named like the queue), with these settings (`{ maxPriority: 9 }`
   * makes RabbitMQ honour priorities). Queues a test declares itself are left alone.
   */
  declareQueues?: Pick<QueueDeclaration, 'maxPriority'>;
  /**
   * Where `reject({ requeue: true })` puts a message: at the back of its queue with its delivery tag
   * ('back': Kombu's Redis transport, memory), or back at its original place, so first in line, under a
   * new delivery tag ('original': AMQP basic.reject). Marked redelivered either way.
   */
  requeuePosition?: 'back' | 'original';
  /**
   * The server's prefetch counts unacked messages (AMQP basic.qos): an ack made during a handler call
   * lets the broker send the next message at once, which waits in the consumer's memory (no longer in
   * queueLength) until the handler window has room. The window still bounds the handler calls.
   */
  prefetchCountsUnacked?: boolean;
}

/** `b`, declaring each queue before it is first published to or consumed (see `declareQueues`). */
function declaringQueues(b: Broker, settings: Pick<QueueDeclaration, 'maxPriority'>): Broker {
  const declared = new Set<string>();
  const ensure = async (queue: string): Promise<void> => {
    if (declared.has(queue)) return;
    declared.add(queue);
    await b.declareQueue({ name: queue, exchange: queue, routingKey: queue, ...settings });
  };
  return {
    capabilities: b.capabilities,
    connect: () => b.connect(),
    declareExchange: (name, type) => b.declareExchange(name, type),
    declareQueue: async (q) => {
      declared.add(q.name);
      await b.declareQueue(q);
    },
    publish: async (message, route) => {
      if (route.exchange === '') await ensure(route.routingKey);
      await b.publish(message, route);
    },
    publishMany: async (items) => {
      for (const { route } of items) if (route.exchange === '') await ensure(route.routingKey);
      await b.publishMany(items);
    },
    consume: async (queues, handler, options) => {
      for (const q of queues) await ensure(q);
      return b.consume(queues, handler, options);
    },
    purge: (queue) => b.purge(queue),
    queueLength: (queue) => b.queueLength(queue),
    isRecoverable: (error) => b.isRecoverable(error),
    close: () => b.close(),
  };
}

interface Collector {
  deliveries: Delivery[];
  errors: unknown[];
  sub: Subscription;
  /** Ends the handler call of delivery `i` (frees its prefetch slot). */
  release(i: number): void;
  ids(): string[];
}

let seq = 0;
const unique = (kind: string): string => `${kind}${++seq}-${randomBytes(3).toString('hex')}`;

/** A task-like message; `id` ends up in headers.id, correlationId and the body. */
export function testMessage(id: string, options: { priority?: number; headers?: Record<string, unknown> } = {}): WireMessage {
  return {
    headers: { lang: 'js', task: 'tests.echo', id, retries: 0, timelimit: [null, null], ...options.headers },
    properties: { correlationId: id, replyTo: 'reply-oid', deliveryMode: 2, priority: options.priority ?? 0 },
    contentType: 'application/json',
    contentEncoding: 'utf-8',
    body: Buffer.from(JSON.stringify([[id], {}, { callbacks: null, errbacks: null, chain: null, chord: null }])),
  };
}

const toQueue = (queue: string) => ({ exchange: '', routingKey: queue });

export function runBrokerContract(name: string, factory: BrokerFactory, differences: BrokerContractOptions = {}): void {
  describe(`Broker contract: ${name}`, () => {
    const open: Broker[] = [];
    const holds: Deferred<void>[] = [];

    async function broker(): Promise<Broker> {
      const b = await factory();
      await b.connect();
      open.push(b);
      return differences.declareQueues ? declaringQueues(b, differences.declareQueues) : b;
    }

    async function collect(b: Broker, queues: string[], options: { prefetch?: number; hold?: boolean; autoAck?: boolean } = {}): Promise<Collector> {
      const own: Deferred<void>[] = [];
      const c = {
        deliveries: [] as Delivery[],
        errors: [] as unknown[],
        release: (i: number) => own[i]?.resolve(),
        ids: () => c.deliveries.map((d) => String(d.message.headers.id)),
      };
      const sub = await b.consume(
        queues,
        async (d) => {
          c.deliveries.push(d);
          if (options.autoAck) await d.ack();
          if (options.hold) {
            const h = deferred<void>();
            own.push(h);
            holds.push(h);
            await h.promise;
          }
        },
        { prefetch: options.prefetch ?? 10, onError: (e) => c.errors.push(e) },
      );
      return Object.assign(c, { sub });
    }

    afterEach(async () => {
      for (const h of holds.splice(0)) h.resolve();
      await Promise.all(open.splice(0).map((b) => b.close()));
    });

    it('delivers body, headers and properties intact', async () => {
      const b = await broker();
      const q = unique('q');
      const sent = testMessage('m1', { priority: 0, headers: { nested: { a: [1, 'b', null] }, text: 'héllo 日本' } });
      sent.properties.expiration = '60000';
      await b.publish(sent, toQueue(q));
      const c = await collect(b, [q], { autoAck: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      const d = c.deliveries[0]!;
      expect(d.message.headers).toEqual(sent.headers);
      expect(d.message.properties).toEqual(sent.properties);
      expect(d.message.contentType).toBe('application/json');
      expect(d.message.contentEncoding).toBe('utf-8');
      expect(Buffer.compare(d.message.body, sent.body)).toBe(0);
      expect(d.info).toMatchObject({ exchange: '', routingKey: q, queue: q, redelivered: false, priority: 0 });
      expect(d.info.deliveryTag).toEqual(expect.any(String));
      expect(d.info.deliveryTag).not.toBe('');
    });

    it('keeps FIFO order within a priority', async () => {
      const b = await broker();
      const q = unique('q');
      const ids = ['a', 'b', 'c', 'd', 'e'];
      for (const id of ids) await b.publish(testMessage(id, { priority: 4 }), toQueue(q));
      const c = await collect(b, [q], { autoAck: true });
      await waitFor(() => c.deliveries.length === ids.length, 5000, 'five deliveries');
      expect(c.ids()).toEqual(ids);
    });

    it('serves priorities in the announced order', async () => {
      const b = await broker();
      if (!b.capabilities.priority) return;
      const q = unique('q');
      for (const p of [9, 3, 0, 6, 2, 5]) await b.publish(testMessage(`p${p}`, { priority: p }), toQueue(q));
      const c = await collect(b, [q], { autoAck: true });
      await waitFor(() => c.deliveries.length === 6, 5000, 'six deliveries');
      // low-first (Kombu's Redis buckets 0-2, 3-5, 6-8, 9; FIFO inside a bucket); high-first (RabbitMQ)
      const expected = b.capabilities.priorityOrder === 'low-first' ? ['p0', 'p2', 'p3', 'p5', 'p6', 'p9'] : ['p9', 'p6', 'p5', 'p3', 'p2', 'p0'];
      expect(c.ids()).toEqual(expected);
      expect(c.deliveries.map((d) => d.info.priority)).toEqual(expected.map((id) => Number(id.slice(1))));
    });

    it('respects the prefetch window', async () => {
      const b = await broker();
      const q = unique('q');
      for (let i = 0; i < 5; i++) await b.publish(testMessage(`m${i}`), toQueue(q));
      const c = await collect(b, [q], { prefetch: 2, hold: true });
      await waitFor(() => c.deliveries.length === 2, 5000, 'two deliveries');
      expect(await b.queueLength(q)).toBe(3); // not taken while the window is full
      expect(c.deliveries.length).toBe(2);
      await c.deliveries[0]!.ack();
      if (differences.prefetchCountsUnacked) await waitFor(async () => (await b.queueLength(q)) === 2, 5000, 'the broker to send the next message to the consumer');
      else expect(await b.queueLength(q)).toBe(3);
      expect(c.deliveries.length).toBe(2); // settling is not enough: the handler call must end
      c.release(0);
      await waitFor(() => c.deliveries.length === 3, 5000, 'a third delivery');
      expect(await b.queueLength(q)).toBe(2);
      expect(c.ids()).toEqual(['m0', 'm1', 'm2']);
    });

    it('ack removes the message for good', async () => {
      const b = await broker();
      const q = unique('q');
      await b.publish(testMessage('acked'), toQueue(q));
      const c = await collect(b, [q], { prefetch: 1, hold: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      await c.deliveries[0]!.ack();
      c.release(0);
      await b.publish(testMessage('marker'), toQueue(q));
      await waitFor(() => c.deliveries.length === 2, 5000, 'the marker');
      expect(c.ids()).toEqual(['acked', 'marker']);
      expect(await b.queueLength(q)).toBe(0);
    });

    it('settling twice is a no-op', async () => {
      const b = await broker();
      const q = unique('q');
      await b.publish(testMessage('once'), toQueue(q));
      const c = await collect(b, [q], { prefetch: 1, hold: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      const d = c.deliveries[0]!;
      await d.ack();
      await d.ack();
      await d.restore();
      await d.reject({ requeue: true });
      c.release(0);
      await b.publish(testMessage('marker'), toQueue(q));
      await waitFor(() => c.deliveries.length === 2, 5000, 'the marker');
      expect(c.ids()).toEqual(['once', 'marker']);
      expect(await b.queueLength(q)).toBe(0);
    });

    it('reject without requeue removes the message', async () => {
      const b = await broker();
      const q = unique('q');
      await b.publish(testMessage('bad'), toQueue(q));
      const c = await collect(b, [q], { prefetch: 1, hold: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      await c.deliveries[0]!.reject({ requeue: false });
      c.release(0);
      await b.publish(testMessage('marker'), toQueue(q));
      await waitFor(() => c.deliveries.length === 2, 5000, 'the marker');
      expect(c.ids()).toEqual(['bad', 'marker']);
    });

    const requeueBack = (differences.requeuePosition ?? 'back') === 'back';
    it(`reject with requeue puts the message ${requeueBack ? 'at the back of its queue' : 'back at its place'}, marked redelivered`, async () => {
      const b = await broker();
      const q = unique('q');
      await b.publish(testMessage('a'), toQueue(q));
      await b.publish(testMessage('b'), toQueue(q));
      const c = await collect(b, [q], { prefetch: 1, hold: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      await c.deliveries[0]!.reject({ requeue: true });
      c.release(0);
      await waitFor(() => c.deliveries.length === 2, 5000, 'second delivery');
      await c.deliveries[1]!.ack();
      c.release(1);
      await waitFor(() => c.deliveries.length === 3, 5000, 'the third delivery');
      const again = requeueBack ? c.deliveries[2]! : c.deliveries[1]!;
      expect(c.ids()).toEqual(requeueBack ? ['a', 'b', 'a'] : ['a', 'a', 'b']);
      expect(again.info.redelivered).toBe(true);
      if (requeueBack) expect(again.info.deliveryTag).toBe(c.deliveries[0]!.info.deliveryTag);
      expect(Buffer.compare(again.message.body, c.deliveries[0]!.message.body)).toBe(0);
    });

    it('restore puts the message first in line, marked redelivered', async () => {
      const b = await broker();
      const q = unique('q');
      await b.publish(testMessage('a'), toQueue(q));
      await b.publish(testMessage('b'), toQueue(q));
      const c = await collect(b, [q], { prefetch: 1, hold: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      await c.deliveries[0]!.restore();
      c.release(0);
      await waitFor(() => c.deliveries.length === 2, 5000, 'the restored message');
      expect(c.ids()).toEqual(['a', 'a']);
      expect(c.deliveries[1]!.info.redelivered).toBe(true);
      expect(c.deliveries[0]!.info.redelivered).toBe(false);
      await c.deliveries[1]!.ack();
      c.release(1);
      await waitFor(() => c.deliveries.length === 3, 5000, 'the next message');
      expect(c.ids()[2]).toBe('b');
    });

    it('consumes several queues', async () => {
      const b = await broker();
      const q1 = unique('q');
      const q2 = unique('q');
      await b.publish(testMessage('x1'), toQueue(q1));
      await b.publish(testMessage('y1'), toQueue(q2));
      await b.publish(testMessage('x2'), toQueue(q1));
      await b.publish(testMessage('y2'), toQueue(q2));
      const c = await collect(b, [q1, q2], { autoAck: true });
      await waitFor(() => c.deliveries.length === 4, 5000, 'four deliveries');
      expect([...c.ids()].sort()).toEqual(['x1', 'x2', 'y1', 'y2']);
      for (const d of c.deliveries) expect(d.info.queue).toBe(String(d.message.headers.id).startsWith('x') ? q1 : q2);
      // FIFO per queue
      expect(c.ids().filter((id) => id.startsWith('x'))).toEqual(['x1', 'x2']);
    });

    it('purge empties every priority and returns the count', async () => {
      const b = await broker();
      const q = unique('q');
      for (const p of [0, 4, 9]) await b.publish(testMessage(`p${p}`, { priority: p }), toQueue(q));
      expect(await b.purge(q)).toBe(3);
      expect(await b.queueLength(q)).toBe(0);
      expect(await b.purge(unique('empty'))).toBe(0);
    });

    it('queueLength counts all priorities', async () => {
      const b = await broker();
      const q = unique('q');
      expect(await b.queueLength(q)).toBe(0);
      for (const p of [0, 1, 3, 7, 9]) await b.publish(testMessage(`p${p}`, { priority: p }), toQueue(q));
      expect(await b.queueLength(q)).toBe(5);
    });

    it('publishMany publishes every message, routed each its own way', async () => {
      const b = await broker();
      const q1 = unique('q');
      const q2 = unique('q');
      const ex = unique('ex');
      await b.declareQueue({ name: q2, exchange: ex, routingKey: 'rk' });
      await b.publishMany([
        { message: testMessage('a'), route: toQueue(q1) },
        { message: testMessage('b', { priority: 9 }), route: toQueue(q1) },
        { message: testMessage('c'), route: { exchange: ex, routingKey: 'rk' } },
      ]);
      expect(await b.queueLength(q1)).toBe(2);
      expect(await b.queueLength(q2)).toBe(1);
      await b.publishMany([]);
    });

    it('routes through declared bindings; declaring twice binds once', async () => {
      const b = await broker();
      const q = unique('q');
      const ex = unique('ex');
      await b.declareQueue({ name: q, exchange: ex, routingKey: 'key.a' });
      await b.declareQueue({ name: q, exchange: ex, routingKey: 'key.a' });
      await b.publish(testMessage('routed'), { exchange: ex, routingKey: 'key.a' });
      expect(await b.queueLength(q)).toBe(1);
      const c = await collect(b, [q], { autoAck: true });
      await waitFor(() => c.deliveries.length === 1, 5000, 'one delivery');
      expect(c.deliveries[0]!.info).toMatchObject({ exchange: ex, routingKey: 'key.a', queue: q });
    });

    it('refuses a message no queue is bound for', async () => {
      const b = await broker();
      const ex = unique('ex');
      await expect(b.publish(testMessage('lost'), { exchange: ex, routingKey: 'nowhere' })).rejects.toBeInstanceOf(BrokerError);
      await b.declareQueue({ name: unique('q'), exchange: ex, routingKey: 'somewhere' });
      await expect(b.publish(testMessage('lost'), { exchange: ex, routingKey: 'nowhere' })).rejects.toBeInstanceOf(BrokerError);
      await expect(b.publishMany([{ message: testMessage('lost'), route: { exchange: ex, routingKey: 'nowhere' } }])).rejects.toBeInstanceOf(BrokerError);
    });

    it('cancel stops deliveries', async () => {
      const b = await broker();
      const q = unique('q');
      await b.publish(testMessage('before'), toQueue(q));
      const first = await collect(b, [q], { autoAck: true });
      await waitFor(() => first.deliveries.length === 1, 5000, 'one delivery');
      await first.sub.cancel();
      await first.sub.cancel(); // idempotent
      await b.publish(testMessage('after'), toQueue(q));
      expect(await b.queueLength(q)).toBe(1);
      const second = await collect(b, [q], { autoAck: true });
      await waitFor(() => second.deliveries.length === 1, 5000, 'the second consumer to get it');
      expect(second.ids()).toEqual(['after']);
      expect(first.ids()).toEqual(['before']);
    });

    describe('fanout', () => {
      async function fanoutBroker(): Promise<Broker | undefined> {
        const b = await broker();
        return b.capabilities.fanout ? b : undefined;
      }

      it('broadcasts to every bound queue being consumed, with the routing key; a direct queue gets nothing', async () => {
        const b = await fanoutBroker();
        if (!b) return;
        const ex = unique('fx');
        const [qa, qb, direct] = [unique('fa'), unique('fb'), unique('q')];
        await b.declareExchange(ex, 'fanout');
        await b.declareQueue({ name: qa, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
        await b.declareQueue({ name: qb, exchange: ex, routingKey: '#' }); // the exchange's known type
        const a = await collect(b, [qa]);
        const c = await collect(b, [qb]);
        const d = await collect(b, [direct], { autoAck: true });
        for (const id of ['f1', 'f2', 'f3']) await b.publish(testMessage(id), { exchange: ex, routingKey: 'task.multi' });
        await waitFor(() => a.deliveries.length === 3 && c.deliveries.length === 3, 5000, 'three broadcasts to each queue');
        expect(a.ids()).toEqual(['f1', 'f2', 'f3']);
        expect(c.ids()).toEqual(['f1', 'f2', 'f3']);
        expect(a.deliveries[0]!.info).toMatchObject({ exchange: ex, routingKey: 'task.multi', queue: qa, redelivered: false, priority: 0 });
        expect(c.deliveries[0]!.info).toMatchObject({ exchange: ex, routingKey: 'task.multi', queue: qb });
        expect(a.deliveries[1]!.message.headers).toEqual(testMessage('f2').headers);
        expect(Buffer.compare(a.deliveries[1]!.message.body, testMessage('f2').body)).toBe(0);
        await b.publish(testMessage('marker'), toQueue(direct));
        await waitFor(() => d.deliveries.length === 1, 5000, 'the direct marker');
        expect(d.ids()).toEqual(['marker']);
        expect(await b.queueLength(qa)).toBe(0);
        expect(await b.queueLength(direct)).toBe(0);
        expect([...a.errors, ...c.errors, ...d.errors]).toEqual([]);
      });

      it('delivers an empty routing key to queues bound with an empty key (pidbox), through publishMany too', async () => {
        const b = await fanoutBroker();
        if (!b) return;
        const ex = unique('pidbox');
        const [qa, qb] = [unique('w1'), unique('w2')];
        await b.declareQueue({ name: qa, exchange: ex, routingKey: '', exchangeType: 'fanout' });
        await b.declareQueue({ name: qb, exchange: ex, routingKey: '', exchangeType: 'fanout' });
        const both = await collect(b, [qa, qb]); // one consume() of two fanout queues: a copy each
        await b.publishMany([
          { message: testMessage('ping'), route: { exchange: ex, routingKey: '' } },
          { message: testMessage('pong'), route: { exchange: ex, routingKey: '' } },
        ]);
        await waitFor(() => both.deliveries.length === 4, 5000, 'two copies of two broadcasts');
        expect(both.deliveries.filter((d) => d.info.queue === qa).map((d) => d.message.headers.id)).toEqual(['ping', 'pong']);
        expect(both.deliveries.filter((d) => d.info.queue === qb).map((d) => d.message.headers.id)).toEqual(['ping', 'pong']);
        expect(both.deliveries[0]!.info).toMatchObject({ exchange: ex, routingKey: '' });
      });

      it('stores nothing: a broadcast nobody consumes is lost, settling does nothing', async () => {
        const b = await fanoutBroker();
        if (!b) return;
        const ex = unique('fx');
        const q = unique('fq');
        await b.declareQueue({ name: q, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
        await b.publish(testMessage('unheard'), { exchange: ex, routingKey: 'k' }); // no error
        const c = await collect(b, [q], { prefetch: 1, hold: true });
        await b.publish(testMessage('heard'), { exchange: ex, routingKey: 'k' });
        await waitFor(() => c.deliveries.length === 1, 5000, 'one broadcast');
        const d = c.deliveries[0]!;
        await d.reject({ requeue: true });
        await d.restore();
        await d.ack();
        c.release(0);
        await b.publish(testMessage('next'), { exchange: ex, routingKey: 'k' });
        await waitFor(() => c.deliveries.length === 2, 5000, 'the next broadcast');
        expect(c.ids()).toEqual(['heard', 'next']);
        expect(await b.queueLength(q)).toBe(0);
      });

      it('keeps broadcasts within the prefetch window, in order', async () => {
        const b = await fanoutBroker();
        if (!b) return;
        const ex = unique('fx');
        const q = unique('fq');
        await b.declareQueue({ name: q, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
        const c = await collect(b, [q], { prefetch: 1, hold: true });
        for (const id of ['b1', 'b2', 'b3']) await b.publish(testMessage(id), { exchange: ex, routingKey: 'k' });
        await waitFor(() => c.deliveries.length === 1, 5000, 'the first broadcast');
        await b.publish(testMessage('b4'), { exchange: ex, routingKey: 'k' }); // arrives after b1-b3 at the consumer
        expect(c.deliveries.length).toBe(1);
        c.release(0);
        await waitFor(() => c.deliveries.length === 2, 5000, 'the second broadcast');
        c.release(1);
        await waitFor(() => c.deliveries.length === 3, 5000, 'the third broadcast');
        c.release(2);
        await waitFor(() => c.deliveries.length === 4, 5000, 'all four');
        expect(c.ids()).toEqual(['b1', 'b2', 'b3', 'b4']);
      });

      it('shares the window with list queues in the same consume(); cancel stops broadcasts', async () => {
        const b = await fanoutBroker();
        if (!b) return;
        const ex = unique('fx');
        const [fq, lq] = [unique('fq'), unique('q')];
        await b.declareQueue({ name: fq, exchange: ex, routingKey: '#', exchangeType: 'fanout' });
        const c = await collect(b, [fq, lq], { autoAck: true });
        await b.publish(testMessage('broadcast'), { exchange: ex, routingKey: 'k' });
        await b.publish(testMessage('queued'), toQueue(lq));
        await waitFor(() => c.deliveries.length === 2, 5000, 'both deliveries');
        expect([...c.ids()].sort()).toEqual(['broadcast', 'queued']);
        await c.sub.cancel();
        const other = await collect(b, [fq]);
        await b.publish(testMessage('after'), { exchange: ex, routingKey: 'k' });
        await waitFor(() => other.deliveries.length === 1, 5000, 'the other consumer to get it');
        expect(c.deliveries.length).toBe(2);
      });

      it('refuses to redeclare an exchange with another type, or the default exchange as fanout', async () => {
        const b = await fanoutBroker();
        if (!b) return;
        const ex = unique('fx');
        await b.declareExchange(ex, 'fanout');
        await b.declareExchange(ex, 'fanout');
        await expect(b.declareExchange(ex, 'direct')).rejects.toBeInstanceOf(BrokerError);
        await expect(b.declareQueue({ name: unique('q'), exchange: ex, routingKey: 'k', exchangeType: 'topic' })).rejects.toBeInstanceOf(BrokerError);
        await expect(b.declareExchange('', 'fanout')).rejects.toBeInstanceOf(BrokerError);
        await b.declareExchange('', 'direct');
      });
    });

    it('reports a throwing handler and keeps consuming', async () => {
      const b = await broker();
      const q = unique('q');
      const errors: unknown[] = [];
      const seen: string[] = [];
      await b.consume(
        [q],
        (d) => {
          seen.push(String(d.message.headers.id));
          if (seen.length === 1) throw new Error('handler failed');
          return d.ack();
        },
        { prefetch: 1, onError: (e) => errors.push(e) },
      );
      await b.publish(testMessage('boom'), toQueue(q));
      await b.publish(testMessage('fine'), toQueue(q));
      await waitFor(() => seen.length === 2, 5000, 'two handler calls');
      expect(seen).toEqual(['boom', 'fine']);
      expect(errors).toHaveLength(1);
      expect((errors[0] as Error).message).toBe('handler failed');
    });
  });
}
