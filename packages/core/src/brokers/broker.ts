/**
 * The broker interface: a message transport. Optional features are announced in `capabilities`,
 * never found by instanceof. Implementations: memory/, redis/ (and amqp/ later).
 */
import type { WireMessage } from '../protocol/wire-message';

export interface BrokerCapabilities {
  /** Message priority is honoured. */
  readonly priority: boolean;
  /** Which priority number is served first: Redis/Kombu serves 0 first, RabbitMQ 9 first. */
  readonly priorityOrder: 'low-first' | 'high-first';
  /** Fanout exchanges (broadcast) exist. */
  readonly fanout: boolean;
  /** The broker can hold a message until a time by itself. */
  readonly nativeDelay: boolean;
}

/** Where a message goes: Celery publishes tasks to exchange "" with the queue name as routing key. */
export interface Route {
  exchange: string;
  routingKey: string;
}

/** A queue and its binding, declared before first use (`taskCreateMissingQueues`). */
export interface QueueDeclaration {
  name: string;
  exchange: string;
  routingKey: string;
  exchangeType?: 'direct' | 'topic' | 'fanout';
  maxPriority?: number;
}

export interface DeliveryInfo {
  exchange: string;
  routingKey: string;
  /** The queue the message was taken from. */
  queue: string;
  redelivered: boolean;
  /** Transport-specific tag (a UUID on Redis). */
  deliveryTag: string;
  priority: number;
}

/** One received message. Exactly one of ack/reject/restore settles it; later calls are no-ops. */
export interface Delivery {
  readonly message: WireMessage;
  readonly info: DeliveryInfo;
  /** Done with it: remove for good. */
  ack(): Promise<void>;
  /** Refuse it: `requeue` puts it at the back of its queue, otherwise it is dead-lettered or removed. */
  reject(options: { requeue: boolean }): Promise<void>;
  /** Give it back unprocessed, first in line and marked redelivered (warm shutdown). */
  restore(): Promise<void>;
}

/**
 * Called once per delivery. The delivery counts against the prefetch window until the returned promise
 * settles; the handler settles the delivery (ack/reject/restore) when it chooses.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void> | void;

export interface ConsumeOptions {
  /** Deliveries whose handler has not settled, at most. */
  prefetch: number;
  /** Called when consuming hits an error it recovers from (reconnects), for logging. */
  onError?: (error: unknown) => void;
}

export interface Subscription {
  /** Stop receiving; resolves when no further handler call will start. */
  cancel(): Promise<void>;
}

/** A message transport. */
export interface Broker {
  readonly capabilities: BrokerCapabilities;
  connect(): Promise<void>;
  /** Declares a queue and binds it; idempotent. */
  declareQueue(queue: QueueDeclaration): Promise<void>;
  publish(message: WireMessage, route: Route): Promise<void>;
  /** Publishes many messages in one round trip where the transport allows. */
  publishMany(items: ReadonlyArray<{ message: WireMessage; route: Route }>): Promise<void>;
  consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription>;
  /** Removes every waiting message of a queue; returns how many. */
  purge(queue: string): Promise<number>;
  /** Messages waiting in a queue (all priorities). */
  queueLength(queue: string): Promise<number>;
  /** Driver errors worth a retry or reconnect (Kombu's connection_errors). */
  isRecoverable(error: unknown): boolean;
  close(): Promise<void>;
}
