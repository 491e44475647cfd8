/**
 * Publishing on one confirm channel: a publish resolves when RabbitMQ acked it (publisher confirms),
 * and fails with a BrokerError when the message was unroutable (`mandatory`: basic.return), nacked,
 * or its channel died (a BrokerConnectionError when the connection went: the app's publish retry
 * policy applies). Publishes are written as issued, without waiting for earlier confirms.
 *
 * RabbitMQ sends basic.return before the basic.ack of the same message, in publish order, and the
 * return carries no sequence number: it is matched to the oldest unconfirmed publish with the same
 * exchange, routing key and correlation id.
 *
 * Properties as Celery sends them (celery-wire.md §4.2): content type and encoding, headers typed for
 * py-amqp (amqp-headers.ts), delivery mode (2, persistent, unless the message says 1), priority,
 * correlation id, reply-to and expiration (milliseconds as a string).
 */
import type { ConfirmChannel, Message, Options } from 'amqplib';
import { BrokerConnectionError, BrokerError } from '../../errors';
import type { WireMessage } from '../../protocol/wire-message';
import type { Route } from '../broker';
import { replyCode, wrapAmqpError } from './amqp-errors';
import { encodeHeaders } from './amqp-headers';
import type { AmqpConnection } from './amqp-connection';

interface Unconfirmed {
  exchange: string;
  routingKey: string;
  correlationId: string | undefined;
  /** Set when RabbitMQ returned the message: why. */
  returned?: string;
}

interface PublishChannel {
  channel: ConfirmChannel;
  /** In publish order (a Set keeps insertion order, and deletes in O(1)). */
  unconfirmed: Set<Unconfirmed>;
  /** The error RabbitMQ closed the channel with, if it did. */
  closeError?: Error;
  closed: boolean;
}

/** One message to publish; `mandatory` false for broadcasts (nobody listening is not an error). */
export interface Outgoing {
  message: WireMessage;
  route: Route;
  mandatory: boolean;
}

export class AmqpPublisher {
  private current: PublishChannel | null = null;
  private opening: Promise<PublishChannel> | null = null;

  constructor(private readonly conn: AmqpConnection) {}

  /** Publishes every message, pipelined; resolves when all are confirmed, else rejects with the first failure. */
  async publish(items: readonly Outgoing[]): Promise<void> {
    const pc = await this.channel();
    const results = await Promise.allSettled(items.map((item) => this.send(pc, item)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private send(pc: PublishChannel, { message, route, mandatory }: Outgoing): Promise<void> {
    const entry: Unconfirmed = { exchange: route.exchange, routingKey: route.routingKey, correlationId: message.properties.correlationId };
    let options: Options.Publish;
    try {
      options = publishOptions(message, mandatory);
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new BrokerError(String(err))); // EncodeError: not worth a retry
    }
    return new Promise<void>((resolve, reject) => {
      const done = (err: unknown): void => {
        pc.unconfirmed.delete(entry);
        if (err) reject(this.failure(pc, err));
        else if (entry.returned !== undefined) {
          reject(new BrokerError(`RabbitMQ could not route the message to exchange "${route.exchange}" with routing key "${route.routingKey}" (${entry.returned}): declare the queue first.`));
        } else resolve();
      };
      pc.unconfirmed.add(entry);
      try {
        pc.channel.publish(route.exchange, route.routingKey, message.body, options, done);
      } catch (err) {
        done(err);
      }
    });
  }

  private failure(pc: PublishChannel, err: unknown): Error {
    const cause = pc.closeError ?? err;
    const code = replyCode(pc.closeError);
    if (code !== undefined && code !== 320) return wrapAmqpError(cause, `${this.conn.redacted} (publish)`);
    if (err instanceof Error && err.message === 'message nacked') return new BrokerError(`RabbitMQ ${this.conn.redacted} refused the message (basic.nack).`, { cause: err });
    return new BrokerConnectionError(`RabbitMQ ${this.conn.redacted}: the connection was lost before the publish was confirmed: ${(cause as Error).message ?? String(cause)}`, { cause });
  }

  private async channel(): Promise<PublishChannel> {
    if (this.current && !this.current.closed) return this.current;
    this.opening ??= this.openChannel().finally(() => (this.opening = null));
    return this.opening;
  }

  private async openChannel(): Promise<PublishChannel> {
    const model = await this.conn.model();
    let channel: ConfirmChannel;
    try {
      channel = await model.createConfirmChannel();
    } catch (err) {
      throw wrapAmqpError(err, `${this.conn.redacted} (opening the publish channel)`);
    }
    const pc: PublishChannel = { channel, unconfirmed: new Set(), closed: false };
    channel.on('error', (err: Error) => (pc.closeError = err));
    channel.on('close', () => {
      pc.closed = true;
      if (this.current === pc) this.current = null;
    });
    channel.on('return', (msg: Message) => {
      const f = msg.fields as Message['fields'] & { replyCode?: number; replyText?: string };
      const correlationId = msg.properties.correlationId as string | undefined;
      for (const u of pc.unconfirmed) {
        if (u.returned === undefined && u.exchange === f.exchange && u.routingKey === f.routingKey && u.correlationId === correlationId) {
          u.returned = `${f.replyCode ?? 312} ${f.replyText ?? 'NO_ROUTE'}`;
          break;
        }
      }
    });
    this.current = pc;
    return pc;
  }

  /** Closes the publish channel (waiting confirms fail). */
  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    const pc = this.current;
    this.current = null;
    if (pc && !pc.closed) await pc.channel.close().catch(() => undefined);
  }
}

/** amqplib publish options for a WireMessage (mandatory set by the caller). */
export function publishOptions(message: WireMessage, mandatory: boolean): Options.Publish {
  const p = message.properties;
  const options: Options.Publish = {
    mandatory,
    contentType: message.contentType,
    contentEncoding: message.contentEncoding,
    headers: encodeHeaders(message.headers),
    deliveryMode: p.deliveryMode ?? 2,
  };
  if (p.priority !== undefined) options.priority = p.priority;
  if (p.correlationId !== undefined) options.correlationId = p.correlationId;
  if (p.replyTo !== undefined) options.replyTo = p.replyTo;
  if (p.expiration !== undefined) options.expiration = String(p.expiration);
  return options;
}
