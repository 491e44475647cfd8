/**
 * In-process broker for tests and embedded use.
 *
 * Features: direct routing through bindings, Kombu's priority buckets (0 first, like Redis),
 * prefetch windows, ack/reject/restore with redelivery. URL: `memory://` (one shared hub per name:
 * `memory://name`). Nothing survives the process.
 */
import { randomUUID } from 'node:crypto';
import { BrokerError } from '../../errors';
import type { WireMessage } from '../../protocol/wire-message';
import type { Broker, BrokerCapabilities, ConsumeOptions, Delivery, DeliveryHandler, QueueDeclaration, Route, Subscription } from '../broker';
import { PRIORITY_STEPS, priorityStep } from '../priority';

interface Stored {
  message: WireMessage;
  exchange: string;
  routingKey: string;
  tag: string;
  redelivered: boolean;
}

interface Consumer {
  queues: string[];
  handler: DeliveryHandler;
  prefetch: number;
  inFlight: number;
  cancelled: boolean;
  onError?: (error: unknown) => void;
}

/** Shared state of one memory:// URL, so a producer app and a worker app in one process meet. */
class MemoryHub {
  readonly queues = new Map<string, Map<number, Stored[]>>();
  readonly bindings = new Map<string, Set<string>>(); // exchange -> "routingKey\x00queue"
  readonly consumers = new Set<Consumer>();
  scheduled = false;

  buckets(queue: string): Map<number, Stored[]> {
    let q = this.queues.get(queue);
    if (!q) {
      q = new Map(PRIORITY_STEPS.map((s) => [s, []]));
      this.queues.set(queue, q);
    }
    return q;
  }

  take(queue: string): Stored | undefined {
    const q = this.queues.get(queue);
    if (!q) return undefined;
    for (const step of PRIORITY_STEPS) {
      const list = q.get(step)!;
      if (list.length) return list.shift();
    }
    return undefined;
  }
}

const hubs = new Map<string, MemoryHub>();

export interface MemoryBrokerOptions {
  /** Hub name: brokers with the same name share queues. @defaultValue 'default' */
  name?: string;
}

export class MemoryBroker implements Broker {
  readonly capabilities: BrokerCapabilities = { priority: true, priorityOrder: 'low-first', fanout: false, nativeDelay: false };
  private readonly hub: MemoryHub;
  private readonly mine = new Set<Consumer>();
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
    hubs.clear();
  }

  async connect(): Promise<void> {
    this.closed = false;
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
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
    for (const queue of this.targets(route)) {
      const stored: Stored = { message: cloneMessage(message), exchange: route.exchange, routingKey: route.routingKey, tag: randomUUID(), redelivered: false };
      this.hub.buckets(queue).get(priorityStep(message.properties.priority))!.push(stored);
    }
    this.schedule();
  }

  async publishMany(items: ReadonlyArray<{ message: WireMessage; route: Route }>): Promise<void> {
    for (const { message, route } of items) await this.publish(message, route);
  }

  async consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    this.ensureOpen();
    const consumer: Consumer = { queues: [...queues], handler, prefetch: Math.max(1, options.prefetch), inFlight: 0, cancelled: false, onError: options.onError };
    for (const q of queues) this.hub.buckets(q);
    this.hub.consumers.add(consumer);
    this.mine.add(consumer);
    this.schedule();
    return {
      cancel: async () => {
        consumer.cancelled = true;
        this.hub.consumers.delete(consumer);
        this.mine.delete(consumer);
      },
    };
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
    for (const c of this.mine) {
      c.cancelled = true;
      this.hub.consumers.delete(c);
    }
    this.mine.clear();
    this.closed = true;
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
        const stored = takeFirst(this.hub, consumer.queues);
        if (!stored) continue;
        progressed = true;
        this.deliver(consumer, stored.item, stored.queue);
      }
    }
  }

  private deliver(consumer: Consumer, stored: Stored, queue: string): void {
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
        if (settle() && requeue) putBack(false);
      },
      restore: async () => {
        if (settle()) putBack(true);
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
