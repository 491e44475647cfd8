/**
 * In-process broker for tests and embedded use.
 *
 * Features: direct routing through bindings, Kombu's priority buckets (0 first, like Redis),
 * prefetch windows, ack/reject/restore with redelivery, fanout exchanges that behave as Kombu's on
 * Redis (broadcast to the queues being consumed, routing key matched as a glob, nothing stored; see
 * broker.ts), delayed delivery (`publishDelayed`: a timer per message, so embedded workers defer long
 * ETAs the same way as on Redis and RabbitMQ; the timers do not keep the process alive). URL:
 * `memory://` (one shared hub per name: `memory://name`). Nothing survives the process.
 */
import { ExchangeTypes } from '../exchange-types';
import { randomUUID } from 'node:crypto';
import { BrokerError } from '../../errors';
import type { WireMessage } from '../../protocol/wire-message';
import { FANOUT_BUFFER_LIMIT } from '../broker';
import type { Broker, BrokerCapabilities, ConsumeOptions, Delivery, DeliveryHandler, ExchangeType, QueueDeclaration, Route, Subscription } from '../broker';
import { PRIORITY_STEPS, priorityStep } from '../priority';

interface Stored {
  message: WireMessage;
  exchange: string;
  routingKey: string;
  tag: string;
  redelivered: boolean;
}

interface Consumer {
  /** The queues it takes from (not its fanout ones). */
  queues: string[];
  handler: DeliveryHandler;
  prefetch: number;
  inFlight: number;
  cancelled: boolean;
  onError?: (error: unknown) => void;
  /** Broadcasts received, waiting for a prefetch slot; served before the queues. */
  broadcasts: { item: Stored; queue: string }[];
}

/** A fanout queue being consumed: Kombu's PSUBSCRIBE of the queue's channel pattern. */
interface Listener {
  consumer: Consumer;
  queue: string;
  pattern: RegExp;
}

/** Shared state of one memory:// URL, so a producer app and a worker app in one process meet. */
class MemoryHub {
  readonly queues = new Map<string, Map<number, Stored[]>>();
  readonly bindings = new Map<string, Set<string>>(); // exchange -> "routingKey\x00queue"
  readonly consumers = new Set<Consumer>();
  readonly listeners = new Set<Listener>();
  /** publishDelayed timers waiting (cleared by MemoryBroker.reset()). */
  readonly delayed = new Set<NodeJS.Timeout>();
  scheduled = false;

  buckets(queue: string): Map<number, Stored[]> {
    let q = this.queues.get(queue);
    if (!q) {
      q = new Map(PRIORITY_STEPS.map((s) => [s, []]));
      this.queues.set(queue, q);
    }
    return q;
  }
}

const hubs = new Map<string, MemoryHub>();

export interface MemoryBrokerOptions {
  /** Hub name: brokers with the same name share queues. @defaultValue 'default' */
  name?: string;
}

export class MemoryBroker implements Broker {
  readonly capabilities: BrokerCapabilities = { priority: true, priorityOrder: 'low-first', fanout: true, nativeDelay: true };
  private readonly hub: MemoryHub;
  private readonly mine = new Set<Consumer>();
  /** Exchange types declared through this broker (client-side, as Kombu keeps them). */
  private readonly exchangeTypes = new ExchangeTypes();
  /** Fanout queue -> the glob its consumers subscribe to (Kombu's `_fanout_queues`). */
  private readonly fanoutQueues = new Map<string, string>();
  private closed = false;

  constructor(options: MemoryBrokerOptions = {}) {
    const name = options.name ?? 'default';
    let hub = hubs.get(name);
    if (!hub) {
      hub = new MemoryHub();
      hubs.set(name, hub);
    }
    this.hub = hub;
  }

  /** Drops every queue of every memory hub (test isolation). */
  static reset(): void {
    for (const hub of hubs.values()) for (const timer of hub.delayed) clearTimeout(timer);
    hubs.clear();
  }

  async connect(): Promise<void> {
    this.closed = false;
  }

  async declareExchange(name: string, type: ExchangeType): Promise<void> {
    this.exchangeTypes.declare(name, type);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    if (queue.exchangeType) await this.declareExchange(queue.exchange, queue.exchangeType);
    if (this.exchangeTypes.isFanout(queue.exchange)) {
      this.fanoutQueues.set(queue.name, fanoutChannel(queue.exchange, queue.routingKey.replace(/#/g, '*')));
    }
    this.hub.buckets(queue.name);
    let set = this.hub.bindings.get(queue.exchange);
    if (!set) this.hub.bindings.set(queue.exchange, (set = new Set()));
    set.add(`${queue.routingKey}\u0000${queue.name}`);
  }

  private targets(route: Route): string[] {
    if (route.exchange === '') return [route.routingKey];
    const set = this.hub.bindings.get(route.exchange);
    const out: string[] = [];
    for (const b of set ?? []) {
      const [key, queue] = b.split('\u0000') as [string, string];
      if (key === route.routingKey) out.push(queue);
    }
    if (!out.length) throw new BrokerError(`No queue bound to exchange "${route.exchange}" with routing key "${route.routingKey}": message not routable.`);
    return out;
  }

  async publish(message: WireMessage, route: Route): Promise<void> {
    this.ensureOpen();
    if (this.exchangeTypes.isFanout(route.exchange)) return this.broadcast(message, route);
    for (const queue of this.targets(route)) {
      const stored: Stored = { message: cloneMessage(message), exchange: route.exchange, routingKey: route.routingKey, tag: randomUUID(), redelivered: false };
      this.hub.buckets(queue).get(priorityStep(message.properties.priority))!.push(stored);
    }
    this.schedule();
  }

  /** Kombu's `_put_fanout`: a copy to each fanout queue consumed now whose pattern matches; else lost. */
  private broadcast(message: WireMessage, route: Route): void {
    const channel = fanoutChannel(route.exchange, route.routingKey);
    const tag = randomUUID(); // one tag for every copy, as Kombu publishes one message
    for (const { consumer, queue, pattern } of this.hub.listeners) {
      if (consumer.cancelled || !pattern.test(channel)) continue;
      if (consumer.broadcasts.length >= FANOUT_BUFFER_LIMIT) {
        consumer.onError?.(new BrokerError(`Fanout message on "${channel}" dropped for queue "${queue}": ${FANOUT_BUFFER_LIMIT} broadcasts already wait for the handler.`));
        continue;
      }
      consumer.broadcasts.push({ item: { message: cloneMessage(message), exchange: route.exchange, routingKey: route.routingKey, tag, redelivered: false }, queue });
    }
    this.schedule();
  }

  /** Puts `message` on `queue` (as published to exchange '') in `delaySeconds`; a timer meanwhile. */
  async publishDelayed(message: WireMessage, queue: string, delaySeconds: number): Promise<void> {
    this.ensureOpen();
    if (!Number.isFinite(delaySeconds) || delaySeconds < 0) throw new BrokerError(`publishDelayed needs a delay of 0 seconds or more, got ${delaySeconds}.`);
    const stored: Stored = { message: cloneMessage(message), exchange: '', routingKey: queue, tag: randomUUID(), redelivered: false };
    const hub = this.hub;
    const dueAt = Date.now() + delaySeconds * 1000;
    const arm = (): void => {
      // setTimeout caps at 2^31-1 ms (~24.8 days): longer waits re-arm
      const timer = setTimeout(() => {
        hub.delayed.delete(timer);
        if (dueAt > Date.now()) return arm();
        hub.buckets(queue).get(priorityStep(message.properties.priority))!.push(stored);
        this.schedule();
      }, Math.min(Math.max(0, dueAt - Date.now()), 2_147_483_647));
      timer.unref();
      hub.delayed.add(timer);
    };
    arm();
  }

  async publishMany(items: ReadonlyArray<{ message: WireMessage; route: Route }>): Promise<void> {
    for (const { message, route } of items) await this.publish(message, route);
  }

  async consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    this.ensureOpen();
    const unique = [...new Set(queues)];
    const consumer: Consumer = {
      queues: unique.filter((q) => !this.fanoutQueues.has(q)), handler, prefetch: Math.max(1, options.prefetch), inFlight: 0, cancelled: false, onError: options.onError, broadcasts: [],
    };
    for (const q of consumer.queues) this.hub.buckets(q);
    for (const q of unique) {
      const glob = this.fanoutQueues.get(q);
      if (glob !== undefined) this.hub.listeners.add({ consumer, queue: q, pattern: globToRegExp(glob) });
    }
    this.hub.consumers.add(consumer);
    this.mine.add(consumer);
    this.schedule();
    return {
      cancel: async () => this.stop(consumer),
      status: () => (consumer.cancelled ? { consuming: false, reason: 'cancelled' } : this.closed ? { consuming: false, reason: 'broker closed' } : { consuming: true }),
    };
  }

  async deleteQueue(queue: QueueDeclaration): Promise<void> {
    this.hub.queues.delete(queue.name);
    this.hub.bindings.get(queue.exchange)?.delete(`${queue.routingKey}\u0000${queue.name}`);
    this.fanoutQueues.delete(queue.name);
  }

  async purge(queue: string): Promise<number> {
    const q = this.hub.queues.get(queue);
    if (!q) return 0;
    let n = 0;
    for (const list of q.values()) {
      n += list.length;
      list.length = 0;
    }
    return n;
  }

  async queueLength(queue: string): Promise<number> {
    const q = this.hub.queues.get(queue);
    let n = 0;
    for (const list of q?.values() ?? []) n += list.length;
    return n;
  }

  isRecoverable(): boolean {
    return false;
  }

  async close(): Promise<void> {
    for (const c of this.mine) this.stop(c);
    this.closed = true;
  }

  private stop(consumer: Consumer): void {
    consumer.cancelled = true;
    consumer.broadcasts.length = 0;
    for (const l of this.hub.listeners) if (l.consumer === consumer) this.hub.listeners.delete(l);
    this.hub.consumers.delete(consumer);
    this.mine.delete(consumer);
  }

  private ensureOpen(): void {
    if (this.closed) throw new BrokerError('Memory broker is closed.');
  }

  // Deliver on a microtask, so publish() returns before handlers run, as with a real broker.
  private schedule(): void {
    if (this.hub.scheduled) return;
    this.hub.scheduled = true;
    setImmediate(() => {
      this.hub.scheduled = false;
      this.dispatch();
    });
  }

  private dispatch(): void {
    let progressed = true;
    while (progressed) {
      progressed = false;
      for (const consumer of this.hub.consumers) {
        if (consumer.cancelled || consumer.inFlight >= consumer.prefetch) continue;
        const broadcast = consumer.broadcasts.shift();
        const stored = broadcast ?? takeFirst(this.hub, consumer.queues);
        if (!stored) continue;
        progressed = true;
        this.deliver(consumer, stored.item, stored.queue, broadcast !== undefined);
      }
    }
  }

  /** A broadcast (`fanout`) has no ack bookkeeping: settling it does nothing. */
  private deliver(consumer: Consumer, stored: Stored, queue: string, fanout: boolean): void {
    consumer.inFlight++;
    let settled = false;
    const settle = (): boolean => {
      if (settled) return false;
      settled = true;
      return true;
    };
    const hub = this.hub;
    const putBack = (front: boolean): void => {
      const again: Stored = { ...stored, redelivered: true };
      const list = hub.buckets(queue).get(priorityStep(stored.message.properties.priority))!;
      if (front) list.unshift(again);
      else list.push(again);
      this.schedule();
    };
    const delivery: Delivery = {
      message: stored.message,
      info: { exchange: stored.exchange, routingKey: stored.routingKey, queue, redelivered: stored.redelivered, deliveryTag: stored.tag, priority: stored.message.properties.priority ?? 0 },
      ack: async () => {
        settle();
      },
      reject: async ({ requeue }) => {
        if (settle() && requeue && !fanout) putBack(false);
      },
      restore: async () => {
        if (settle() && !fanout) putBack(true);
      },
    };
    const done = (): void => {
      consumer.inFlight--;
      this.schedule();
    };
    try {
      Promise.resolve(consumer.handler(delivery)).then(done, (err: unknown) => {
        consumer.onError?.(err);
        done();
      });
    } catch (err) {
      consumer.onError?.(err);
      done();
    }
  }
}

function takeFirst(hub: MemoryHub, queues: string[]): { item: Stored; queue: string } | undefined {
  // Priority-major, queue-minor, like Kombu's BRPOP key order.
  for (const step of PRIORITY_STEPS) {
    for (const queue of queues) {
      const list = hub.queues.get(queue)?.get(step);
      if (list?.length) return { item: list.shift()!, queue };
    }
  }
  return undefined;
}

function cloneMessage(m: WireMessage): WireMessage {
  return { headers: { ...m.headers }, properties: { ...m.properties }, contentType: m.contentType, contentEncoding: m.contentEncoding, body: Buffer.from(m.body) };
}

/** The channel of a fanout publish, as Kombu's `_get_publish_topic` names it (without the `/{db}.` prefix). */
function fanoutChannel(exchange: string, routingKey: string): string {
  return routingKey ? `${exchange}/${routingKey}` : exchange;
}

/** A Redis PSUBSCRIBE glob as a RegExp: `*`, `?`, `[...]` (`[^...]` negated) and `\` escapes. */
function globToRegExp(glob: string): RegExp {
  const escape = (c: string): string => c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    const close = c === '[' ? glob.indexOf(']', i + 2) : -1;
    if (c === '*') re += '[^]*';
    else if (c === '?') re += '[^]';
    else if (c === '\\' && i + 1 < glob.length) re += escape(glob[++i]!);
    else if (close > 0) {
      const body = glob.slice(i + 1, close);
      re += body.startsWith('^') ? `[^${body.slice(1).replace(/[\\\]]/g, '\\$&')}]` : `[${body.replace(/[\\\]^]/g, '\\$&')}]`;
      i = close;
    } else re += escape(c);
  }
  return new RegExp(`^${re}$`);
}
