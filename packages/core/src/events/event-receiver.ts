/**
 * Receives Celery events from Node and Python workers and clients (celery/events/receiver.py): a
 * queue `celeryev.<uuid>` of its own bound to `celeryev` with `#` (`worker.#` to get only worker
 * events); on RabbitMQ non-durable, auto-delete, `x-expires` 60 s and `x-message-ttl` 5 s as Celery
 * declares it; on Redis a PSUBSCRIBE. Batches (`task.multi`, a JSON list) are split. As it starts it
 * broadcasts the `heartbeat` control command, so workers announce themselves at once (Celery's wakeup).
 *
 * Handlers get the event with camelCase fields (`rootId`, `swIdent`) plus `localReceived`; a handler
 * that throws is logged and the others still run.
 *
 * @example
 * const receiver = new EventReceiver(app);
 * receiver.on('task-succeeded', (e) => console.log(e.uuid, e.result, e.runtime));
 * receiver.on('*', (e) => console.log(e.type, e.hostname));
 * await receiver.start();
 * // ...
 * await receiver.close();
 */
import { randomUUID } from 'node:crypto';
import type { Delivery, QueueDeclaration, Subscription } from '../brokers/broker';
import type { Celeriac } from '../app/celeriac';
import { parseJson } from '../protocol/serializers';
import { EVENT_EXCHANGE, eventExchangeType, type EventBase, type EventType, type EventTypeMap } from './event-types';

export interface EventReceiverOptions {
  /** Binding key: `#` for every event, `worker.#` for worker events only. @defaultValue '#' */
  routingKey?: string;
  /** Broadcast `heartbeat` on start so workers send one now. @defaultValue true */
  wakeup?: boolean;
  /** Queue name. @defaultValue celeryev.<uuid4> */
  queueName?: string;
  /** Seconds the queue outlives its consumer (AMQP x-expires). @defaultValue eventQueueExpires (60) */
  queueExpires?: number;
  /** Seconds an event waits in the queue at most (AMQP x-message-ttl). @defaultValue eventQueueTtl (5) */
  queueTtl?: number;
}

/** `raw` is the event as sent (snake_case fields), e.g. to print or forward it. */
export type EventHandler<K extends EventType> = (event: EventTypeMap[K], raw: Readonly<Record<string, unknown>>) => void;

type AnyHandler = (event: EventBase, raw: Record<string, unknown>) => void;

const camel = (key: string): string => key.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** An event as sent (snake_case) → the camelCase object handlers get. */
export function eventFromWire(raw: Record<string, unknown>, localReceived = Date.now() / 1000): EventBase {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) out[camel(key)] = value;
  out.localReceived = localReceived;
  return out as EventBase;
}

export class EventReceiver {
  readonly queue: QueueDeclaration;
  private readonly handlers = new Map<string, Array<AnyHandler>>();
  private subscription: Subscription | undefined;
  /** The highest Lamport clock seen. */
  clock = 0;

  constructor(
    private readonly app: Celeriac,
    private readonly options: EventReceiverOptions = {},
  ) {
    const conf = app.conf;
    this.queue = {
      name: options.queueName ?? `${EVENT_EXCHANGE}.${randomUUID()}`,
      exchange: EVENT_EXCHANGE,
      routingKey: options.routingKey ?? '#',
      exchangeType: eventExchangeType(conf.brokerUrl),
      durable: false,
      autoDelete: true,
      arguments: { 'x-expires': Math.round((options.queueExpires ?? conf.eventQueueExpires) * 1000), 'x-message-ttl': Math.round((options.queueTtl ?? conf.eventQueueTtl) * 1000) },
    };
  }

  /** Adds a handler for one event type, or `*` for all. Returns a function that removes it. */
  on<K extends EventType>(type: K, handler: EventHandler<K>): () => void {
    const list = this.handlers.get(type) ?? [];
    list.push(handler as AnyHandler);
    this.handlers.set(type, list);
    return () => {
      const i = list.indexOf(handler as AnyHandler);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Declares the queue, starts consuming and (by default) wakes the workers up. */
  async start(): Promise<void> {
    if (this.subscription) return;
    await this.app.connect();
    const broker = this.app.broker;
    await broker.declareExchange(EVENT_EXCHANGE, this.queue.exchangeType!, { durable: true });
    await broker.declareQueue(this.queue);
    this.subscription = await broker.consume([this.queue.name], (d) => this.onDelivery(d), {
      prefetch: 1000,
      onError: (err) => this.app.logger.warn({ err }, 'Event receiver: consumer error'),
    });
    if (this.options.wakeup !== false) await this.app.control.broadcast('heartbeat');
  }

  /** Stops consuming and removes the queue. */
  async close(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    if (!sub) return;
    await sub.cancel();
    await this.app.broker.deleteQueue?.(this.queue);
  }

  private async onDelivery(delivery: Delivery): Promise<void> {
    await delivery.ack();
    let body: unknown;
    try {
      body = parseJson(delivery.message.body.toString('utf8'));
    } catch (err) {
      this.app.logger.warn({ err, routingKey: delivery.info.routingKey }, 'Event receiver: ignoring an event that is not JSON');
      return;
    }
    for (const raw of Array.isArray(body) ? body : [body]) {
      if (!raw || typeof raw !== 'object' || typeof (raw as { type?: unknown }).type !== 'string') {
        this.app.logger.warn({ routingKey: delivery.info.routingKey }, 'Event receiver: ignoring an event without a type');
        continue;
      }
      this.dispatch(eventFromWire(raw as Record<string, unknown>), raw as Record<string, unknown>);
    }
  }

  private dispatch(event: EventBase, raw: Record<string, unknown>): void {
    if (typeof event.clock === 'number' && event.clock > this.clock) this.clock = event.clock;
    for (const handler of [...(this.handlers.get(event.type) ?? []), ...(this.handlers.get('*') ?? [])]) {
      try {
        handler(event, raw);
      } catch (err) {
        this.app.logger.error({ err, type: event.type }, `Event handler of ${event.type} raised: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
