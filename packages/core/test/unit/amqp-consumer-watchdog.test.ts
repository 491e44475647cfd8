/**
 * The AMQP consumer watchdog's decisions, on a fake connection (no RabbitMQ): what it probes (nothing
 * while deliveries flow or the handler window is full), when it rebuilds (a quiet consumer while
 * messages wait, a channel closed without an error of its own), and what it reports. The real thing
 * against RabbitMQ: integration/amqp-watchdog.int.test.ts.
 */
import { EventEmitter } from 'node:events';
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import type { ConsumerRecovery } from '../../src/brokers/broker';
import type { AmqpConnection } from '../../src/brokers/amqp/amqp-connection';
import { AmqpConsumer, type ConsumerContext } from '../../src/brokers/amqp/amqp-consumer';
import { waitFor } from '../helpers/wait';

const WATCHDOG_MS = 20;

class FakeChannel extends EventEmitter {
  readonly consumers = new Map<string, { queue: string; onMessage: (msg: ConsumeMessage | null) => void }>();
  closed = false;
  acked = 0;
  private tags = 0;
  constructor(private readonly id: number) {
    super();
  }
  prefetch(): Promise<void> {
    return Promise.resolve();
  }
  consume(queue: string, onMessage: (msg: ConsumeMessage | null) => void): Promise<{ consumerTag: string }> {
    const consumerTag = `ch${this.id}-ctag${++this.tags}`;
    this.consumers.set(consumerTag, { queue, onMessage });
    return Promise.resolve({ consumerTag });
  }
  cancel(tag: string): Promise<void> {
    this.consumers.delete(tag);
    return Promise.resolve();
  }
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.emit('close');
    }
    return Promise.resolve();
  }
  ack(): void {
    this.acked++;
  }
  /** Delivers a message to the consumer of `queue` on this channel. */
  deliver(queue: string, id: string): void {
    const consumer = [...this.consumers].find(([, c]) => c.queue === queue);
    if (!consumer) throw new Error(`no consumer of ${queue} on channel ${this.id}`);
    const msg = {
      content: Buffer.from('[]'),
      fields: { deliveryTag: 1, redelivered: false, exchange: '', routingKey: queue, consumerTag: consumer[0] },
      properties: { headers: { id }, contentType: 'application/json', contentEncoding: 'utf-8' },
    } as unknown as ConsumeMessage;
    consumer[1].onMessage(msg);
  }
}

/** A live connection whose channels are fakes, and queues whose ready counts the test sets (`missing`: 404). */
function fakeContext() {
  const channels: FakeChannel[] = [];
  const ready = new Map<string, number | 'missing'>();
  let probes = 0;
  const model = {
    createChannel: () => {
      const ch = new FakeChannel(channels.length + 1);
      channels.push(ch);
      return Promise.resolve(ch as unknown as Channel);
    },
  } as unknown as ChannelModel;
  const conn = {
    redacted: 'amqp://fake',
    connected: true,
    generation: 1,
    model: () => Promise.resolve(model),
    withChannel: <T>(fn: (ch: Channel) => Promise<T>) => {
      probes++;
      const checkQueue = (q: string) => {
        const n = ready.get(q) ?? 0;
        if (n === 'missing') return Promise.reject(Object.assign(new Error(`NOT_FOUND - no queue '${q}'`), { code: 404 }));
        return Promise.resolve({ queue: q, messageCount: n, consumerCount: 1 });
      };
      return fn({ checkQueue } as unknown as Channel);
    },
    onDisconnect: () => () => undefined,
    onRetry: () => () => undefined,
    onReconnect: () => () => undefined,
  } as unknown as AmqpConnection;
  const ctx: ConsumerContext = {
    conn,
    fanoutBindings: () => undefined,
    declareFanoutQueue: () => Promise.resolve(),
    redeclare: () => Promise.resolve([]),
    knowsQueue: (q) => ready.get(q) !== 'missing', // a missing queue is one nobody here declares
    isSingleActiveConsumer: () => false,
    redeclareQueue: (q) => Promise.resolve(ready.get(q) !== 'missing'),
  };
  return { ctx, channels, ready, probes: () => probes };
}

describe('AMQP consumer watchdog (fake connection)', () => {
  const consumers: AmqpConsumer[] = [];
  afterEach(async () => {
    await Promise.all(consumers.splice(0).map((c) => c.close()));
  });

  function start(ctx: ConsumerContext, handler: (id: string) => Promise<void> | void, prefetch = 2, queues = ['q']) {
    const errors: string[] = [];
    const recoveries: ConsumerRecovery[] = [];
    const consumer = new AmqpConsumer(ctx, queues, async (d) => {
      await handler(String(d.message.headers.id));
      await d.ack();
    }, { prefetch, watchdogMs: WATCHDOG_MS, onError: (e) => errors.push((e as Error).message), onRecover: (r) => recoveries.push(r) });
    consumers.push(consumer);
    return { consumer, errors, recoveries, started: consumer.start() };
  }

  /** Proving an absence takes a time window: this many watchdog rounds. */
  const rounds = (n: number) => new Promise((resolve) => setTimeout(resolve, n * WATCHDOG_MS));

  it('rebuilds a consumer that receives nothing while messages wait, on a new channel; the old one is cancelled and closed', async () => {
    const f = fakeContext();
    const got: string[] = [];
    const c = start(f.ctx, (id) => void got.push(id));
    await c.started;
    f.ready.set('q', 3); // waiting in the queue, yet channel 1 delivers nothing
    await waitFor(() => c.recoveries.length === 1, 2000, 'the rebuild');
    expect(c.recoveries[0]).toMatchObject({ kind: 'rebuilt', queues: ['q'] });
    expect(c.errors).toEqual([expect.stringMatching(/stopped receiving \(nothing delivered for 20 ms while 3 message\(s\) wait in "q"\): rebuilding it/)]);
    expect(f.channels).toHaveLength(2);
    expect(f.channels[0]!.consumers.size).toBe(0);
    expect(f.channels[0]!.closed).toBe(true);
    f.ready.set('q', 0);
    f.channels[1]!.deliver('q', 'a');
    await waitFor(() => got.length === 1, 2000, 'a delivery on the new channel');
    // acks go out at the end of the event-loop turn (batched)
    await waitFor(() => f.channels[1]!.acked === 1, 2000, 'the ack on the new channel');
  });

  it('probes nothing while the handler window is full, however many messages wait', async () => {
    const f = fakeContext();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const c = start(f.ctx, () => gate, 1);
    await c.started;
    f.ready.set('q', 5);
    f.channels[0]!.deliver('q', 'busy'); // the only slot, held until the gate opens
    await rounds(10);
    expect(f.probes()).toBe(0);
    expect(c.errors).toEqual([]);
    release();
    await waitFor(() => f.probes() > 0, 2000, 'a probe once the window has room again');
  });

  it('does not rebuild an idle consumer of an empty queue (one cheap probe per round)', async () => {
    const f = fakeContext();
    const c = start(f.ctx, () => undefined);
    await c.started;
    await rounds(10);
    expect(f.probes()).toBeGreaterThan(2);
    expect(f.channels).toHaveLength(1);
    expect(c.errors).toEqual([]);
    expect(c.recoveries).toEqual([]);
  });

  it('reopens a channel closed without an error of its own while the connection lives on', async () => {
    const f = fakeContext();
    const c = start(f.ctx, () => undefined);
    await c.started;
    f.channels[0]!.emit('close'); // no 'error' first: as if it went with its connection, which in fact lives on
    await waitFor(() => c.recoveries.length === 1, 2000, 'the new channel');
    expect(c.errors).toEqual([expect.stringContaining('stopped receiving (its channel was closed)')]);
    expect(f.channels).toHaveLength(2);
    expect(f.channels[1]!.consumers.size).toBe(1);
  });

  it('consumes again at the next round a queue whose consumer RabbitMQ cancelled', async () => {
    const f = fakeContext();
    const c = start(f.ctx, () => undefined);
    await c.started;
    const consumer = [...f.channels[0]!.consumers.values()][0]!;
    consumer.onMessage(null); // basic.cancel from the server
    await waitFor(() => c.recoveries.length === 1, 2000, 'the rebuild');
    expect(c.errors).toEqual([
      expect.stringContaining('RabbitMQ cancelled the consumer of queue "q"'),
      expect.stringContaining('stopped receiving (RabbitMQ cancelled the consumer of "q")'),
    ]);
    expect(f.channels[1]!.consumers.size).toBe(1);
  });

  it('leaves out of a rebuild a queue gone for good, and consumes it again once it is back', async () => {
    const f = fakeContext();
    const got: string[] = [];
    const c = start(f.ctx, (id) => void got.push(id), 2, ['q', 'gone']);
    await c.started;
    f.ready.set('gone', 'missing');
    const gone = [...f.channels[0]!.consumers.values()].find((x) => x.queue === 'gone')!;
    gone.onMessage(null); // deleted by someone, and nobody here declares it
    await rounds(5);
    expect(f.channels).toHaveLength(1); // nothing to consume again: no rebuild
    f.ready.set('q', 2); // now 'q' stalls: the rebuild consumes it, without 'gone'
    await waitFor(() => c.recoveries.length === 1, 2000, 'the rebuild');
    expect([...f.channels[1]!.consumers.values()].map((x) => x.queue)).toEqual(['q']);
    f.ready.set('q', 0);
    f.ready.set('gone', 0); // declared again by someone
    await waitFor(() => c.recoveries.length === 2, 2000, 'the queue consumed again');
    expect([...f.channels[2]!.consumers.values()].map((x) => x.queue).sort()).toEqual(['gone', 'q']);
    f.channels[2]!.deliver('gone', 'back');
    await waitFor(() => got.length === 1, 2000, 'a delivery from the queue that came back');
    expect(c.errors).toEqual([
      expect.stringContaining('RabbitMQ cancelled the consumer of queue "gone"'),
      expect.stringMatching(/stopped receiving \(nothing delivered for 20 ms while 2 message\(s\) wait in "q"\)/),
      expect.stringContaining('stopped receiving (RabbitMQ cancelled the consumer of "gone")'),
    ]);
  });
});
