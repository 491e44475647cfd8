/**
 * RabbitMQ broker (AMQP 0-9-1), wire-compatible with Kombu's py-amqp transport as Celery 5.2 uses it
 * (celery-wire.md §4): a Python Celery client or worker can share the same vhost and queues.
 *
 * Features: Celery's topology (amqp-topology.ts: durable queues, a direct exchange named like each
 * queue, `x-max-priority` when asked), priorities (RabbitMQ serves 9 first, and only on queues
 * declared with `maxPriority`), fanout exchanges (auto-delete queues bound when consumed), publisher
 * confirms with `mandatory` (an unroutable message is a BrokerError), header tables typed for py-amqp
 * (amqp-headers.ts), per-consumer qos with manual acks (amqp-consumer.ts), reconnection with backoff
 * that redeclares and resumes every consumer (amqp-connection.ts), and a consumer watchdog that
 * rebuilds a consumer that stopped receiving while messages wait (amqp-consumer.ts).
 *
 * URL: `amqp://[user[:password]@]host[:port][/vhost][?heartbeat=s&connect_timeout=s]`, `amqps://`
 * (TLS) or Celery's `pyamqp://`; see amqp-url.ts.
 *
 * Options ({@link AmqpBrokerOptions}): `heartbeat` (seconds, Celery's `broker_heartbeat`, 120; the
 * URL's wins), `connectionTimeout` (seconds, 4; also how long a publish waits for a reconnect),
 * `consumerWatchdogInterval` (seconds, 5; 0 disables the watchdog).
 *
 * Where we differ from Kombu, on purpose: messages to the default or a direct exchange are published
 * with `mandatory` (Kombu does not, and an unroutable task vanishes); consumers use per-consumer qos
 * (`global=false`, which quorum queues require) where Celery 5.2 sends `global=true`; publish() waits
 * for the broker's confirm. Where AMQP differs from the Redis transport: a queue must be declared
 * before it is used (the app does it); `reject({ requeue: true })` puts the message back at its
 * original place; two consume() calls of one broadcast queue share its messages instead of each
 * getting a copy (Celery names broadcast queues per node, so this does not arise).
 *
 * Known limit (amqplib): a header integer beyond ±2^31 written by py-amqp (tag `L`) cannot be decoded;
 * the connection fails on that message and RabbitMQ delivers it again after the reconnect. Celery
 * itself sends no such header; Node to Python is safe (amqp-headers.ts writes `l`).
 */
import type { Channel } from 'amqplib';
import { BrokerError, ConfigError } from '../../errors';
import type { WireMessage } from '../../protocol/wire-message';
import type { Broker, BrokerCapabilities, ConsumeOptions, DeliveryHandler, ExchangeOptions, ExchangeType, QueueDeclaration, Route, Subscription } from '../broker';
import { AmqpConnection } from './amqp-connection';
import { AmqpConsumer, type ConsumerContext } from './amqp-consumer';
import { isRecoverableAmqpError, replyCode } from './amqp-errors';
import { AmqpPublisher } from './amqp-publisher';
import { AmqpTopology, type FanoutBinding } from './amqp-topology';
import { parseAmqpUrl } from './amqp-url';
import { DELAY_LEVELS, bindDelayedDestination, declareDelayTopology, delayRoutingKey, levelName } from './amqp-delayed-delivery';

export interface AmqpBrokerOptions {
  /** `amqp://` or `amqps://` URL. */
  url: string;
  /** Seconds between heartbeats (Celery's `broker_heartbeat`); 0 disables. A `heartbeat` in the URL wins. @defaultValue 120 */
  heartbeat?: number;
  /**
   * Seconds to wait for a connection (Celery's `broker_connection_timeout`), and at most for a
   * reconnect before a publish fails; 0 leaves it to the OS. A `connect_timeout` in the URL wins. @defaultValue 4
   */
  connectionTimeout?: number;
  /**
   * Seconds between the consumer watchdog's rounds: a consumer that received nothing since the last
   * round while its queue holds ready messages and its handler window has room (or that RabbitMQ
   * cancelled) is rebuilt, within about one interval plus a second. Idle rounds cost a passive
   * queue.declare per quiet queue; busy consumers cost nothing. 0 disables it. @defaultValue 5
   */
  consumerWatchdogInterval?: number;
}

const NOT_FOUND = 404;

/**
 * The RabbitMQ transport.
 *
 * @example
 * const broker = new AmqpBroker({ url: 'amqp://guest:guest@localhost:5672//' });
 * await broker.connect();
 * await broker.declareQueue({ name: 'celery', exchange: 'celery', routingKey: 'celery' });
 * await broker.publish(wire, { exchange: '', routingKey: 'celery' }); // resolves once RabbitMQ confirmed it
 */
export class AmqpBroker implements Broker {
  readonly capabilities: BrokerCapabilities = { priority: true, priorityOrder: 'high-first', fanout: true, nativeDelay: true };
  /** The vhost from the URL. */
  readonly vhost: string;
  private readonly conn: AmqpConnection;
  private readonly topology: AmqpTopology;
  private readonly publisher: AmqpPublisher;
  private readonly consumers = new Set<AmqpConsumer>();
  private readonly consumerContext: ConsumerContext;
  private readonly watchdogMs: number;
  /** The delayed-delivery levels, declared once per connection, and the queues bound to them. */
  private delayTopology: { generation: number; done: Promise<void>; bound: Set<string> } | null = null;
  /** The connection generation last redeclared, and that redeclaration. */
  private redeclared: { generation: number; done: Promise<unknown[]> } | null = null;

  constructor(options: AmqpBrokerOptions) {
    const url = parseAmqpUrl(options.url);
    const heartbeat = url.heartbeat ?? options.heartbeat ?? 120;
    if (!(heartbeat >= 0)) throw new ConfigError('brokerHeartbeat', `heartbeat must be a number of seconds >= 0, got ${heartbeat}.`);
    const timeout = options.connectionTimeout ?? 4;
    if (!(timeout >= 0)) throw new ConfigError('connectionTimeout', `connectionTimeout must be a number of seconds >= 0, got ${timeout}.`);
    const watchdog = options.consumerWatchdogInterval ?? 5;
    if (!(watchdog >= 0)) throw new ConfigError('consumerWatchdogInterval', `consumerWatchdogInterval must be a number of seconds >= 0, got ${watchdog}.`);
    this.watchdogMs = Math.round(watchdog * 1000);
    this.vhost = url.vhost;
    this.conn = new AmqpConnection(url, { heartbeat: Math.round(heartbeat), connectTimeoutMs: url.connectTimeoutMs ?? Math.round(timeout * 1000) });
    this.topology = new AmqpTopology(this.conn);
    this.publisher = new AmqpPublisher(this.conn);
    this.consumerContext = {
      conn: this.conn,
      fanoutBindings: (queue: string): FanoutBinding[] | undefined => this.topology.fanoutBindings(queue),
      declareFanoutQueue: (ch: Channel, queue: string, bindings: readonly FanoutBinding[]) => this.topology.declareFanoutQueue(ch, queue, bindings),
      redeclare: () => this.redeclare(),
      knowsQueue: (queue: string) => this.topology.knowsQueue(queue),
      isSingleActiveConsumer: (queue: string) => this.topology.isSingleActiveConsumer(queue),
      redeclareQueue: (queue: string) => this.topology.redeclareQueue(queue),
    };
  }

  async connect(): Promise<void> {
    await this.conn.open();
  }

  async declareExchange(name: string, type: ExchangeType, options: ExchangeOptions = {}): Promise<void> {
    await this.topology.declareExchange(name, type, options);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    await this.topology.declareQueue(queue);
  }

  async publish(message: WireMessage, route: Route): Promise<void> {
    await this.publishMany([{ message, route }]);
  }

  async publishMany(items: ReadonlyArray<{ message: WireMessage; route: Route }>): Promise<void> {
    if (!items.length) return;
    for (const exchange of new Set(items.map((i) => i.route.exchange))) await this.topology.ensureExchange(exchange);
    // Pub/sub (fanout broadcasts, topic events): nobody listening is not an error, as with Kombu. Tasks
    // (default and direct exchanges, or any exchange this broker did not declare) must reach a queue.
    await this.publisher.publish(items.map(({ message, route }) => ({ message, route, mandatory: this.topology.types.typeOf(route.exchange) === 'direct' })));
  }

  async consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    if (!queues.length) throw new BrokerError('consume() needs at least one queue.');
    const consumer = new AmqpConsumer(this.consumerContext, queues, handler, {
      prefetch: options.prefetch,
      pauseWhenFull: options.pauseWhenFull,
      onError: options.onError,
      onRecover: options.onRecover,
      watchdogMs: this.watchdogMs,
    });
    await consumer.start();
    this.consumers.add(consumer);
    // once cancelled, its channel closes by itself when the last held delivery is settled (or with the connection)
    return { cancel: () => consumer.cancel().finally(() => this.consumers.delete(consumer)), status: () => consumer.status() };
  }

  /**
   * Publishes `message` to `queue` after `delaySeconds` through the delay levels
   * (amqp-delayed-delivery.ts): nothing is held by a consumer meanwhile. Resolves once RabbitMQ
   * confirmed it. The topology is declared on first use.
   */
  async publishDelayed(message: WireMessage, queue: string, delaySeconds: number): Promise<void> {
    if (this.delayTopology?.generation !== this.conn.generation) {
      this.delayTopology = { generation: this.conn.generation, done: this.conn.withChannel((ch) => declareDelayTopology(ch), 'declaring the delayed-delivery levels'), bound: new Set() };
    }
    const topology = this.delayTopology;
    try {
      await topology.done;
    } catch (err) {
      this.delayTopology = null;
      throw err;
    }
    if (!topology.bound.has(queue)) {
      await this.conn.withChannel((ch) => bindDelayedDestination(ch, queue), `binding "${queue}" to delayed delivery`);
      topology.bound.add(queue);
    }
    const top = levelName(DELAY_LEVELS - 1);
    await this.publisher.publish([{ message, route: { exchange: top, routingKey: delayRoutingKey(delaySeconds, queue) }, mandatory: true }]);
  }

  /** Deletes a queue and its messages (Kombu's `queue_delete`); a missing queue is not an error. */
  async deleteQueue(queue: QueueDeclaration): Promise<void> {
    this.topology.forget(queue.name);
    await this.ifQueueExists(queue.name, async (ch) => (await ch.deleteQueue(queue.name)).messageCount, 'deleting');
  }

  async purge(queue: string): Promise<number> {
    return this.ifQueueExists(queue, async (ch) => (await ch.purgeQueue(queue)).messageCount, 'purging');
  }

  async queueLength(queue: string): Promise<number> {
    return this.ifQueueExists(queue, async (ch) => (await ch.checkQueue(queue)).messageCount, 'counting');
  }

  isRecoverable(error: unknown): boolean {
    return isRecoverableAmqpError(error);
  }

  /** Closes consumers' channels (their unacked messages go back to the queues), the publish channel and the connection. */
  async close(): Promise<void> {
    await Promise.all([...this.consumers].map((c) => c.close()));
    this.consumers.clear();
    await this.publisher.close();
    await this.conn.close();
  }

  /** A queue that does not exist holds 0 messages, as a missing Redis list does. */
  private async ifQueueExists(queue: string, op: (ch: Channel) => Promise<number>, what: string): Promise<number> {
    return this.conn.withChannel(async (ch) => {
      try {
        return await op(ch);
      } catch (err) {
        if (replyCode(err) === NOT_FOUND) return 0;
        throw err;
      }
    }, `${what} queue "${queue}"`);
  }

  /** Declares everything again, once per connection generation (every consumer asks after a reconnect). */
  private redeclare(): Promise<unknown[]> {
    const generation = this.conn.generation;
    if (this.redeclared?.generation !== generation) this.redeclared = { generation, done: this.topology.redeclare() };
    return this.redeclared.done;
  }
}
