/**
 * Celery's exchanges, queues and bindings on RabbitMQ (celery-wire.md §4.1, Gotcha 12), declared
 * exactly as Kombu declares them so that Python and Node never disagree (RabbitMQ answers a
 * different redeclaration with 406 PRECONDITION_FAILED and closes the channel):
 *
 * | entity | declaration |
 * |---|---|
 * | task queue `Q` | durable, not exclusive, not auto-delete; `x-max-priority` (int32) only when asked |
 * | its exchange (direct or topic) | durable, not auto-delete, no arguments; bound to `Q` with the routing key |
 * | fanout exchange (`celery.pidbox`) | non-durable, not auto-delete, as Kombu's Mailbox declares it |
 * | queue bound to a fanout exchange | declared when consumed: non-durable, auto-delete (gone with its consumer) |
 *
 * Every declaration runs on a throwaway channel (amqp-connection.ts `withChannel`): a 406 becomes a
 * BrokerError naming the queue and the argument, and the connection stays healthy. What was declared
 * is remembered and declared again after a reconnect (a broker restart may have lost it).
 */
import type { Channel } from 'amqplib';
import { BrokerError } from '../../errors';
import type { ExchangeOptions, ExchangeType, QueueDeclaration } from '../broker';
import { ExchangeTypes } from '../exchange-types';
import type { AmqpConnection } from './amqp-connection';
import { declareMismatchError, replyCode } from './amqp-errors';
import { encodeArguments } from './amqp-headers';

const PRECONDITION_FAILED = 406;
const NOT_FOUND = 404;

/** A queue bound to a fanout exchange: declared and bound when consumed. */
export interface FanoutBinding {
  exchange: string;
  routingKey: string;
  /** Queue arguments of its declaration (x-expires, x-message-ttl as Kombu's Mailbox sets them). */
  arguments?: Record<string, number | string>;
}

export class AmqpTopology {
  /** Exchange types declared through this broker (as Kombu keeps them, client-side). */
  readonly types = new ExchangeTypes();
  /** Exchanges known to exist on the server (declared or checked), so a publish need not check. */
  private readonly existing = new Set<string>(['']);
  private readonly exchanges = new Map<string, ExchangeType>();
  private readonly queues = new Map<string, QueueDeclaration>();
  private readonly fanoutQueues = new Map<string, FanoutBinding[]>();
  /** Durability of exchanges declared with options (default: durable unless fanout). */
  private readonly durability = new Map<string, boolean>();

  constructor(private readonly conn: AmqpConnection) {}

  async declareExchange(name: string, type: ExchangeType, options: ExchangeOptions = {}): Promise<void> {
    this.types.declare(name, type); // refuses a type change client-side, and '' as anything but direct
    if (options.durable !== undefined) this.durability.set(name, options.durable);
    if (name === '' || this.exchanges.get(name) === type) return;
    await this.conn.withChannel((ch) => this.exchangeOn(ch, name, type), `declaring exchange "${name}"`);
    this.exchanges.set(name, type);
    this.existing.add(name);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    if (queue.exchangeType) await this.declareExchange(queue.exchange, queue.exchangeType);
    if (queue.exchange !== '' && this.types.isFanout(queue.exchange)) {
      const list = this.fanoutQueues.get(queue.name) ?? [];
      if (!list.some((b) => b.exchange === queue.exchange && b.routingKey === queue.routingKey)) list.push({ exchange: queue.exchange, routingKey: queue.routingKey, arguments: queue.arguments });
      this.fanoutQueues.set(queue.name, list);
      return;
    }
    const key = bindingKey(queue);
    if (this.queues.has(key)) return;
    const type = this.types.typeOf(queue.exchange);
    await this.conn.withChannel((ch) => this.queueOn(ch, queue, type), `declaring queue "${queue.name}"`);
    this.queues.set(key, queue);
    if (queue.exchange !== '') {
      this.exchanges.set(queue.exchange, type);
      this.existing.add(queue.exchange);
    }
  }

  /** Stops redeclaring `queue` (it was deleted). */
  forget(queue: string): void {
    for (const [key, q] of this.queues) if (q.name === queue) this.queues.delete(key);
    this.fanoutQueues.delete(queue);
  }

  /** The fanout bindings of `queue`, or undefined when it is an ordinary queue. */
  fanoutBindings(queue: string): FanoutBinding[] | undefined {
    return this.fanoutQueues.get(queue);
  }

  /** Throws a BrokerError when `exchange` does not exist on the server (checked once, then remembered). */
  async ensureExchange(exchange: string): Promise<void> {
    if (this.existing.has(exchange)) return;
    // Publishing to a missing exchange would close the shared publish channel (404) and fail every
    // publish in flight on it: check on a throwaway channel instead.
    await this.conn.withChannel(async (ch) => {
      try {
        await ch.checkExchange(exchange);
      } catch (err) {
        if (replyCode(err) === NOT_FOUND) {
          throw new BrokerError(`No exchange "${exchange}" on RabbitMQ ${this.conn.redacted}: message not routable. Declare the queue first.`, { cause: err });
        }
        throw err;
      }
    }, `checking exchange "${exchange}"`);
    this.existing.add(exchange);
  }

  /** Declares again everything declared so far (after a reconnect). Errors are collected, not thrown. */
  async redeclare(): Promise<unknown[]> {
    const errors: unknown[] = [];
    for (const [name, type] of this.exchanges) {
      if ([...this.queues.values()].some((q) => q.exchange === name)) continue; // declared with its queue
      await this.conn.withChannel((ch) => this.exchangeOn(ch, name, type), `redeclaring exchange "${name}"`).catch((e: unknown) => errors.push(e));
    }
    for (const q of this.queues.values()) {
      await this.conn.withChannel((ch) => this.queueOn(ch, q, this.types.typeOf(q.exchange)), `redeclaring queue "${q.name}"`).catch((e: unknown) => errors.push(e));
    }
    return errors;
  }

  /** True when `name` was declared through this broker (as an ordinary queue) and not deleted since. */
  knowsQueue(name: string): boolean {
    return [...this.queues.values()].some((q) => q.name === name);
  }

  /**
   * True when this broker declared `name` with `x-single-active-consumer`: its waiting consumers
   * receive nothing while messages wait, by design (the consumer watchdog must not take that for a stall).
   */
  isSingleActiveConsumer(name: string): boolean {
    return [...this.queues.values()].some((q) => q.name === name && Boolean(q.arguments?.['x-single-active-consumer']));
  }

  /**
   * Declares again the queue `name` as it was declared through this broker (the consumer watchdog
   * found it missing: deleted by someone else, as Celery's worker redeclares it when its consumer is
   * cancelled). False when this broker never declared it (or deleted it itself): nothing to do.
   */
  async redeclareQueue(name: string): Promise<boolean> {
    const declarations = [...this.queues.values()].filter((q) => q.name === name);
    for (const q of declarations) {
      await this.conn.withChannel((ch) => this.queueOn(ch, q, this.types.typeOf(q.exchange)), `redeclaring queue "${q.name}"`);
    }
    return declarations.length > 0;
  }

  /** Declares a fanout queue and binds it, on the consumer's channel (it lives as long as its consumer). */
  async declareFanoutQueue(ch: Channel, queue: string, bindings: readonly FanoutBinding[]): Promise<void> {
    const args = Object.assign({}, ...bindings.map((b) => b.arguments ?? {})) as Record<string, number | string>;
    await ch.assertQueue(queue, { durable: false, exclusive: false, autoDelete: true, ...(Object.keys(args).length ? { arguments: encodeArguments(args) } : {}) });
    for (const b of bindings) await ch.bindQueue(queue, b.exchange, b.routingKey);
  }

  private async exchangeOn(ch: Channel, name: string, type: ExchangeType): Promise<void> {
    try {
      await ch.assertExchange(name, type, { durable: this.durability.get(name) ?? type !== 'fanout', autoDelete: false });
    } catch (err) {
      throw replyCode(err) === PRECONDITION_FAILED ? declareMismatchError('exchange', name, err) : err;
    }
  }

  private async queueOn(ch: Channel, q: QueueDeclaration, type: ExchangeType): Promise<void> {
    if (q.exchange !== '') await this.exchangeOn(ch, q.exchange, type);
    const args: Record<string, number | string> = { ...q.arguments };
    if (q.maxPriority !== undefined) args['x-max-priority'] = q.maxPriority;
    try {
      await ch.assertQueue(q.name, { durable: q.durable ?? true, exclusive: false, autoDelete: q.autoDelete ?? false, arguments: encodeArguments(args) });
    } catch (err) {
      throw replyCode(err) === PRECONDITION_FAILED ? declareMismatchError('queue', q.name, err) : err;
    }
    if (q.exchange !== '') await ch.bindQueue(q.name, q.exchange, q.routingKey);
  }
}

function bindingKey(q: QueueDeclaration): string {
  return `${q.name}\u0000${q.exchange}\u0000${q.routingKey}\u0000${q.maxPriority ?? ''}\u0000${q.durable ?? ''}\u0000${q.autoDelete ?? ''}\u0000${JSON.stringify(q.arguments ?? {})}`;
}
