/**
 * The broker interface: a message transport. Optional features are announced in `capabilities`,
 * never found by instanceof. Implementations: memory/, redis/ (and amqp/ later).
 *
 * Fanout (broadcast), as Kombu does it on Redis and Celery uses it for events (`celeryev`) and
 * remote control (`celery.pidbox`):
 * - Exchange types live in the client, as in Kombu: `declareExchange(name, 'fanout')`, or a queue
 *   declared with `exchangeType: 'fanout'`, tells this broker instance that the exchange broadcasts.
 *   Publishing to an exchange this instance does not know as fanout routes through bindings instead.
 * - A publish to a fanout exchange reaches every queue bound to it *that is being consumed at that
 *   moment*, in any process; nothing is stored. Nobody consuming: the message is lost, without error
 *   (pub/sub semantics; what Celery expects of events and broadcasts).
 * - The routing key still filters (Kombu's Redis `fanout_patterns`): a queue bound with key K gets the
 *   messages whose routing key matches K as a glob once `#` is replaced by `*`; bound with '' it gets
 *   only those published with ''. Celery binds `#` / `worker.#` for events and '' for pidbox.
 * - Fanout deliveries have no ack bookkeeping (Kombu consumes them no_ack): ack, reject and restore
 *   are no-ops (a broadcast is never redelivered). The prefetch window still bounds the handler calls
 *   in flight; messages arriving meanwhile wait in memory (a bounded buffer: beyond it they are
 *   dropped and reported through `onError`).
 */
import type { WireMessage } from '../protocol/wire-message';

export interface BrokerCapabilities {
  /** Message priority is honoured. */
  readonly priority: boolean;
  /** Which priority number is served first: Redis/Kombu serves 0 first, RabbitMQ 9 first. */
  readonly priorityOrder: 'low-first' | 'high-first';
  /** Fanout exchanges (broadcast) exist: see the header of broker.ts. */
  readonly fanout: boolean;
  /** The broker can hold a message until a time by itself. */
  readonly nativeDelay: boolean;
}

/** Where a message goes: Celery publishes tasks to exchange "" with the queue name as routing key. */
export interface Route {
  exchange: string;
  routingKey: string;
}

/** Exchange types, as Kombu names them. */
export type ExchangeType = 'direct' | 'topic' | 'fanout';

/** A queue and its binding, declared before first use (`taskCreateMissingQueues`). */
export interface QueueDeclaration {
  name: string;
  exchange: string;
  routingKey: string;
  /**
   * The exchange's type, declared along with the queue (a conflicting known type is a BrokerError).
   * Omitted: the type this broker already knows for the exchange, else direct.
   */
  exchangeType?: ExchangeType;
  maxPriority?: number;
  /** AMQP: survives a broker restart. Ignored by Redis and memory. @defaultValue true (false for fanout-bound queues) */
  durable?: boolean;
  /** AMQP: deleted when its last consumer goes. @defaultValue false (true for fanout-bound queues) */
  autoDelete?: boolean;
  /** AMQP queue arguments (`x-expires`, `x-message-ttl`, `x-queue-type`, `x-dead-letter-exchange`...). */
  arguments?: Record<string, number | string>;
}

/** How an exchange is declared (AMQP; Redis and memory keep only its type). */
export interface ExchangeOptions {
  /** @defaultValue true, false for fanout (as Kombu declares celery.pidbox) */
  durable?: boolean;
}

export interface DeliveryInfo {
  exchange: string;
  routingKey: string;
  /** The queue the message was taken from. */
  queue: string;
  redelivered: boolean;
  /** Transport-specific tag (a UUID on Redis; for a broadcast, the one the publisher chose). */
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
  /**
   * Optional, on brokers with `publishDelayed`: hands this message to the delayed delivery and settles
   * it in one atomic step (Redis: its `unacked` entry becomes a `celeriac.delayed` member), so no crash
   * in between can leave a second copy. Resolves false when the broker no longer held it for this
   * consumer (already restored by the visibility timeout): nothing was added then. Without it, a worker
   * calls `publishDelayed`, then `ack`.
   */
  defer?(delaySeconds: number): Promise<boolean>;
  /**
   * Optional: true once the delivery can no longer be settled because the transport already gave it
   * back (AMQP: its channel died, RabbitMQ redelivers it). A worker skips a stale delivery instead of
   * running a task that will run again elsewhere.
   */
  isStale?(): boolean;
}

/**
 * Called once per delivery. The delivery counts against the prefetch window until the returned promise
 * settles; the handler settles the delivery (ack/reject/restore) when it chooses.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void> | void;

export interface ConsumeOptions {
  /** Deliveries whose handler has not settled, at most. */
  prefetch: number;
  /**
   * Receive nothing while `prefetch` handler calls are in flight (workerDisablePrefetch): a transport
   * whose credit an early ack frees (AMQP) stops its consumers then, instead of taking a message that
   * would wait in memory. Redis and memory already fetch only for free window places.
   */
  pauseWhenFull?: boolean;
  /** Called when consuming hits an error it recovers from (reconnects), for logging. */
  onError?: (error: unknown) => void;
  /**
   * Called when consuming works again after a problem that `onError` reported (a reconnect, a consumer
   * rebuilt after the server cancelled it or it stopped receiving), for logging at info/warn level.
   * Optional for brokers: those that recover silently never call it.
   */
  onRecover?: (event: ConsumerRecovery) => void;
}

/** What `ConsumeOptions.onRecover` is told. */
export interface ConsumerRecovery {
  /**
   * `reconnected`: consuming again on a new connection; `reopened`: on a new channel after the server
   * closed the old one; `rebuilt`: a consumer that had stopped receiving (cancelled by the server, or
   * silent while messages waited) was replaced.
   */
  kind: 'reconnected' | 'reopened' | 'rebuilt';
  /** The queues consumed again. */
  queues: readonly string[];
  /** Human-readable, for the log line. */
  message: string;
  /** Milliseconds since the problem was first noticed, when known. */
  downMs?: number;
}

/** Whether a subscription receives now: what a worker's health check reports. */
export interface ConsumerStatus {
  /** Connected, and consuming every queue of the subscription. */
  consuming: boolean;
  /** Why not, when `consuming` is false (for the health report and logs). */
  reason?: string;
}

export interface Subscription {
  /** Stop receiving; resolves when no further handler call will start. */
  cancel(): Promise<void>;
  /** Optional: whether it is connected and consuming right now (health checks). */
  status?(): ConsumerStatus;
}

/** A message transport. */
export interface Broker {
  readonly capabilities: BrokerCapabilities;
  /**
   * Optional: seconds after which the transport gives a delivery that is still unsettled to another
   * consumer (Redis: the visibility timeout, after which `restore_visible` requeues it). A worker
   * never holds an ETA message that long: it holds at most half of it and hands a later ETA to
   * `publishDelayed`. Undefined when the transport never redelivers a held message by itself
   * (memory), or the limit lives on the server (RabbitMQ's consumer_timeout).
   */
  readonly maxHoldSeconds?: number;
  connect(): Promise<void>;
  /**
   * Declares an exchange's type (Kombu's `exchange_declare`, kept client-side); idempotent. A type
   * other than the one already declared for that name is a BrokerError (Kombu's NotEquivalentError).
   * Needed before publishing to a fanout exchange (see the header of this file). The default
   * exchange '' is direct and cannot be redeclared.
   */
  declareExchange(name: string, type: ExchangeType, options?: ExchangeOptions): Promise<void>;
  /** Declares a queue and binds it; idempotent. */
  declareQueue(queue: QueueDeclaration): Promise<void>;
  publish(message: WireMessage, route: Route): Promise<void>;
  /**
   * Optional (capabilities.nativeDelay): delivers `message` to `queue` after `delaySeconds` without a
   * consumer holding it meanwhile (AMQP: TTL + dead-letter levels; Redis: our sorted set
   * `celeriac.delayed`, moved by consuming workers; memory: a timer). Workers hand long ETAs to it.
   * The message keeps its headers (its `eta`), so whoever receives it runs it once due.
   */
  publishDelayed?(message: WireMessage, queue: string, delaySeconds: number): Promise<void>;
  /** Publishes many messages in one round trip where the transport allows. */
  publishMany(items: ReadonlyArray<{ message: WireMessage; route: Route }>): Promise<void>;
  consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription>;
  /** Removes every waiting message of a queue; returns how many. */
  purge(queue: string): Promise<number>;
  /**
   * Removes a queue, its messages and its binding (Kombu's `queue_delete`): how a remote-control
   * client drops its reply queue. Optional: brokers whose temporary queues delete themselves
   * (AMQP auto-delete) may leave it out.
   */
  deleteQueue?(queue: QueueDeclaration): Promise<void>;
  /** Messages waiting in a queue (all priorities). */
  queueLength(queue: string): Promise<number>;
  /** Driver errors worth a retry or reconnect (Kombu's connection_errors). */
  isRecoverable(error: unknown): boolean;
  close(): Promise<void>;
}

/** Broadcasts waiting for a free prefetch slot, per consume() call, at most; more are dropped and reported. */
export const FANOUT_BUFFER_LIMIT = 10_000;
