/**
 * Sends Celery events (celery/events/dispatcher.py): JSON to exchange `celeryev`, routing key = the
 * type with `-` → `.`, header `{hostname}`, transient (delivery mode 1). Every event gets hostname,
 * utcoffset, pid, clock (Lamport), timestamp (float s) and type.
 *
 * Task events are buffered and sent as one `task.multi` message whose body is a JSON list, as the
 * Python worker does (its event loop flushes the `task` group each turn): Python receivers accept
 * both, and one publish per turn instead of one per event keeps a busy worker cheap. Buffered events
 * go out on the next macrotask turn or when 24 wait (Celery's buffer_limit). Other events go at once.
 *
 * Events are best effort, as in Celery: a failed publish is logged and the event dropped.
 */
import type { Broker } from '../brokers/broker';
import type { Logger } from '../logging/logger';
import { stringifyJson } from '../protocol/serializers';
import type { WireMessage } from '../protocol/wire-message';
import { EVENT_EXCHANGE, eventExchangeType, eventRoutingKey, utcoffset } from './event-types';

export interface EventDispatcherOptions {
  broker: Broker;
  /** To pick the exchange type (topic on AMQP, fanout on Redis and memory). */
  brokerUrl: string;
  /** The sender's node name. */
  hostname: string;
  logger: Logger;
  /** Event groups buffered into `<group>.multi` batches. @defaultValue ['task'] */
  bufferGroups?: readonly string[];
  /** @defaultValue 'celeryev' */
  exchange?: string;
}

const BUFFER_LIMIT = 24;

export class EventDispatcher {
  readonly hostname: string;
  private clock = 0;
  private declared: Promise<void> | undefined;
  private readonly buffers = new Map<string, Array<Record<string, unknown>>>();
  private flushScheduled = false;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly exchange: string;

  constructor(private readonly options: EventDispatcherOptions) {
    this.hostname = options.hostname;
    this.exchange = options.exchange ?? EVENT_EXCHANGE;
    for (const group of options.bufferGroups ?? ['task']) this.buffers.set(group, []);
  }

  /** Builds an event as Celery's Event() does: the fields, then the common ones. */
  event(type: string, fields: Record<string, unknown>): Record<string, unknown> {
    return { hostname: this.hostname, utcoffset: utcoffset(), pid: process.pid, clock: ++this.clock, ...fields, timestamp: Date.now() / 1000, type };
  }

  /** Sends an event (buffered when its group is). Never throws: failures are logged. */
  send(type: string, fields: Record<string, unknown> = {}): void {
    const event = this.event(type, fields);
    const buffer = this.buffers.get(type.split('-', 1)[0]!);
    if (!buffer) {
      this.track(this.publish(eventRoutingKey(type), event));
      return;
    }
    buffer.push(event);
    if (buffer.length >= BUFFER_LIMIT) this.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  /** Sends what the buffers hold now, one `<group>.multi` message per group. */
  flush(): void {
    this.flushScheduled = false;
    for (const [group, buffer] of this.buffers) {
      if (!buffer.length) continue;
      this.track(this.publish(`${group}.multi`, buffer.splice(0)));
    }
  }

  /** Flushes, then waits for the publishes in flight, `timeoutMs` at most (call before closing the broker). */
  async close(timeoutMs = 5000): Promise<void> {
    this.flush();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    const drained = (async () => {
      while (this.inFlight.size) await Promise.all([...this.inFlight]);
    })();
    await Promise.race([drained, deadline]);
    clearTimeout(timer);
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async publish(routingKey: string, body: unknown): Promise<void> {
    const { broker, logger } = this.options;
    try {
      this.declared ??= broker.declareExchange(this.exchange, eventExchangeType(this.options.brokerUrl), { durable: true }).catch((err: unknown) => {
        this.declared = undefined;
        throw err;
      });
      await this.declared;
      const message: WireMessage = {
        headers: { hostname: this.hostname },
        properties: { deliveryMode: 1, priority: 0 },
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        body: Buffer.from(stringifyJson(body)),
      };
      await broker.publish(message, { exchange: this.exchange, routingKey });
    } catch (err) {
      logger.warn({ err, routingKey }, `Could not send event ${routingKey}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}
