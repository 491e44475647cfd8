/**
 * The consuming side of fanout exchanges on Redis, as Kombu 5.2.4 does it (redis.py `_subscribe`,
 * `_receive_one`; celery-wire.md §3.2): a queue bound to a fanout exchange is not a list but a
 * `PSUBSCRIBE` of `[prefix]/{db}.<exchange>[/<binding key, # -> *>]` (keys.ts `fanoutPattern`); the
 * publisher `PUBLISH`es the usual JSON envelope to `[prefix]/{db}.<exchange>[/<routing key>]`.
 *
 * One subscriber connection per broker, opened by the first fanout consume() and shared by all:
 * each pattern is subscribed once and its messages go to every queue consuming it. Deliveries have
 * no ack bookkeeping (Kombu consumes fanout queues no_ack): ack, reject and restore do nothing. The
 * prefetch window still applies: messages wait in memory, at most FANOUT_BUFFER_LIMIT per consume()
 * call, then are dropped and reported. Nothing is stored in Redis: while nobody subscribes, or while
 * the subscriber reconnects (ioredis re-subscribes by itself), broadcasts are lost, as with Kombu.
 */
import type { Redis } from 'ioredis';
import { BrokerConnectionError, BrokerError, DecodeError } from '../../errors';
import { FANOUT_BUFFER_LIMIT, type ConsumerStatus, type Delivery } from '../broker';
import type { ConsumeWindow } from './consume-window';
import { decodeEnvelope, type DecodedEnvelope } from './keys';
import { quit, type RedisClients } from './redis-connection';

/** A fanout queue to consume and the pattern it subscribes to. */
export interface FanoutQueue {
  queue: string;
  pattern: string;
}

/** The fanout part of one consume() call. */
class FanoutConsumer {
  cancelled = false;
  private readonly waiting: Delivery[] = [];
  private draining = false;

  constructor(readonly window: ConsumeWindow) {
    window.onRelease(() => this.drain());
  }

  push(delivery: Delivery, channel: string): void {
    if (this.cancelled) return;
    if (!this.waiting.length && this.window.free > 0) return this.window.run(delivery);
    if (this.waiting.length >= FANOUT_BUFFER_LIMIT) {
      this.window.onError?.(new BrokerError(`Fanout message on "${channel}" dropped for queue "${delivery.info.queue}": ${FANOUT_BUFFER_LIMIT} broadcasts already wait for the handler.`));
      return;
    }
    this.waiting.push(delivery);
  }

  cancel(): void {
    this.cancelled = true;
    this.waiting.length = 0;
  }

  private drain(): void {
    if (this.draining) return; // a handler that returns at once frees its slot inside run()
    this.draining = true;
    try {
      while (!this.cancelled && this.waiting.length && this.window.free > 0) this.window.run(this.waiting.shift()!);
    } finally {
      this.draining = false;
    }
  }
}

interface Listener {
  queue: string;
  pattern: string;
  consumer: FanoutConsumer;
}

export class RedisFanout {
  private connecting: Promise<Redis> | null = null;
  /** The subscriber once connected. */
  private sub: Redis | null = null;
  private closing = false;
  /** Subscribed pattern -> the queues consuming it, and its PSUBSCRIBE (awaited by later joiners too). */
  private readonly patterns = new Map<string, { listeners: Set<Listener>; ready: Promise<unknown> }>();
  private readonly consumers = new Set<FanoutConsumer>();

  constructor(private readonly clients: RedisClients) {}

  /** The patterns subscribed now (for tests and diagnostics). */
  get subscribedPatterns(): string[] {
    return [...this.patterns.keys()];
  }

  /** Subscribes `queues`; resolves once Redis confirmed every PSUBSCRIBE, so a publish from then on arrives. */
  async consume(queues: readonly FanoutQueue[], window: ConsumeWindow): Promise<{ cancel(): Promise<void>; status(): ConsumerStatus }> {
    const sub = await this.connection();
    const consumer = new FanoutConsumer(window);
    const listeners = queues.map((q) => ({ ...q, consumer }));
    const waits: Promise<unknown>[] = [];
    for (const l of listeners) {
      let entry = this.patterns.get(l.pattern);
      if (!entry) {
        entry = { listeners: new Set(), ready: sub.psubscribe(l.pattern) };
        this.patterns.set(l.pattern, entry);
      }
      entry.listeners.add(l);
      waits.push(entry.ready);
    }
    this.consumers.add(consumer);
    let cancelling: Promise<void> | undefined;
    const cancel = (): Promise<void> => (cancelling ??= this.cancel(consumer, listeners));
    try {
      await Promise.all(waits);
    } catch (err) {
      await cancel();
      throw this.clients.wrap(err);
    }
    const status = (): ConsumerStatus => {
      if (consumer.cancelled) return { consuming: false, reason: 'cancelled' };
      const state = this.sub?.status ?? 'closed';
      return state === 'ready' ? { consuming: true } : { consuming: false, reason: `subscriber connection ${state}` };
    };
    return { cancel, status };
  }

  /** Ends every fanout consumer and disconnects the subscriber. */
  async close(): Promise<void> {
    this.closing = true;
    for (const c of this.consumers) c.cancel();
    this.consumers.clear();
    this.patterns.clear();
    await this.connecting?.catch(() => null);
    const sub = this.sub;
    this.connecting = null;
    this.sub = null;
    if (sub) await quit(sub);
    this.closing = false;
  }

  private async cancel(consumer: FanoutConsumer, listeners: Listener[]): Promise<void> {
    consumer.cancel();
    this.consumers.delete(consumer);
    const gone: string[] = [];
    for (const l of listeners) {
      const entry = this.patterns.get(l.pattern);
      if (!entry?.listeners.delete(l) || entry.listeners.size) continue;
      this.patterns.delete(l.pattern);
      gone.push(l.pattern);
    }
    // issued at once, so a PSUBSCRIBE of the same pattern by a later consume() is sent after it
    const sub = this.sub;
    if (gone.length && sub?.status === 'ready') await sub.punsubscribe(...gone).catch(() => undefined);
  }

  private connection(): Promise<Redis> {
    this.connecting ??= (async () => {
      const sub = this.clients.newClient();
      let up = false;
      sub.on('pmessage', (pattern: string, channel: string, message: string) => this.receive(pattern, channel, message));
      sub.on('ready', () => (up = true));
      sub.on('close', () => {
        if (!up || this.closing) return;
        up = false;
        const error = new BrokerConnectionError(`Redis ${this.clients.redacted}: the fanout subscriber connection dropped; reconnecting (broadcasts meanwhile are lost).`);
        for (const c of this.consumers) c.window.onError?.(error);
      });
      try {
        await this.clients.open(sub);
      } catch (err) {
        this.connecting = null;
        throw err;
      }
      this.sub = sub;
      return sub;
    })();
    return this.connecting;
  }

  /** Kombu's `_receive_one`: one decoded copy per queue consuming the pattern; a bad envelope is reported and skipped. */
  private receive(pattern: string, channel: string, message: string): void {
    const entry = this.patterns.get(pattern);
    if (!entry) return;
    for (const { queue, consumer } of entry.listeners) {
      let d: DecodedEnvelope;
      try {
        d = decodeEnvelope(message);
      } catch (err) {
        consumer.window.onError?.(new DecodeError(`Fanout message on "${channel}" skipped: ${(err as Error).message}`, { cause: err }));
        continue;
      }
      consumer.push(broadcast(d, queue), channel);
    }
  }
}

const nothing = async (): Promise<void> => undefined;

/** A delivery without ack bookkeeping. */
function broadcast(d: DecodedEnvelope, queue: string): Delivery {
  return {
    message: d.message,
    info: { exchange: d.exchange, routingKey: d.routingKey, queue, redelivered: d.redelivered, deliveryTag: d.deliveryTag, priority: d.priority },
    ack: nothing,
    reject: nothing,
    restore: nothing,
  };
}
