/**
 * `app.control`: Celery's remote control from the client side (celery/app/control.py). Commands are
 * broadcast to every worker (Node or Python) on `celery.pidbox`; when replies are wanted they come
 * back on this client's reply queue, collected until the timeout or the expected count.
 *
 * @example
 * await app.control.revoke(taskId);                       // never run it (every worker)
 * await app.control.revoke(taskId, { terminate: true });  // and stop it if running
 * const pongs = await app.control.ping({ timeout: 1 });   // [{ 'w1@host': { ok: 'pong' } }]
 * const active = await app.control.inspect().active();     // { 'w1@host': [ ...requests ] }
 */
import { randomUUID } from 'node:crypto';
import type { Broker, Delivery, QueueDeclaration } from '../brokers/broker';
import type { Logger } from '../logging/logger';
import { MAILBOX_QUEUE, PIDBOX_EXCHANGE, REPLY_EXCHANGE, decodeControlReply, encodeControlRequest, replyQueue, type ControlRequest } from './pidbox';

export interface BroadcastOptions {
  arguments?: Record<string, unknown>;
  /** Only these workers act (node names). */
  destination?: readonly string[];
  /** Workers whose node name matches (glob unless matcher is 'pcre'). */
  pattern?: string;
  matcher?: 'glob' | 'pcre';
  /** Collect replies. @defaultValue false */
  reply?: boolean;
  /** Seconds to wait for replies. @defaultValue 1 */
  timeout?: number;
  /** Stop waiting after this many replies (defaults to the destination count when given). */
  limit?: number;
}

/** What the app gives the control client. */
export interface ControlHost {
  readonly oid: string;
  readonly logger: Logger;
  readonly broker: Broker;
  connect(): Promise<void>;
}

/** One node's answer: `{ nodename: value }`, as Celery returns them. */
export type ControlReply<T = unknown> = Record<string, T>;

export class Control {
  private clock = 0;

  constructor(private readonly host: ControlHost) {}

  /** Sends a command to the workers; with `reply`, returns their answers. */
  async broadcast<T = unknown>(method: string, options: BroadcastOptions = {}): Promise<Array<ControlReply<T>>> {
    await this.host.connect();
    const broker = this.host.broker;
    await broker.declareExchange(PIDBOX_EXCHANGE, 'fanout', { durable: false });
    const request: ControlRequest = {
      method,
      arguments: options.arguments ?? {},
      destination: options.destination?.length ? [...options.destination] : null,
      pattern: options.pattern ?? null,
      matcher: options.pattern ? (options.matcher ?? 'glob') : null,
    };
    const timeout = options.timeout ?? 1;
    if (!options.reply) {
      await broker.publish(encodeControlRequest(request, ++this.clock, timeout), { exchange: PIDBOX_EXCHANGE, routingKey: '' });
      return [];
    }
    const ticket = randomUUID();
    request.ticket = ticket;
    request.reply_to = { exchange: REPLY_EXCHANGE, routing_key: this.host.oid };
    const queue: QueueDeclaration = { name: replyQueue(this.host.oid), exchange: REPLY_EXCHANGE, routingKey: this.host.oid, ...MAILBOX_QUEUE, arguments: { ...MAILBOX_QUEUE.arguments } };
    await broker.declareExchange(REPLY_EXCHANGE, 'direct', { durable: false });
    await broker.declareQueue(queue);
    const replies: Array<ControlReply<T>> = [];
    const limit = options.limit ?? (options.destination?.length || undefined);
    let finish: () => void = () => undefined;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const timer = setTimeout(finish, timeout * 1000);
    const subscription = await broker.consume(
      [queue.name],
      async (delivery: Delivery) => {
        await delivery.ack();
        try {
          const reply = decodeControlReply(delivery.message);
          // Replies to an earlier request (another ticket) are not ours.
          if (reply.ticket !== ticket) return;
          replies.push(reply.replies as ControlReply<T>);
          if (limit !== undefined && replies.length >= limit) finish();
        } catch (err) {
          this.host.logger.warn({ err }, 'Ignoring an unreadable remote-control reply');
        }
      },
      { prefetch: 100 },
    );
    try {
      await broker.publish(encodeControlRequest(request, ++this.clock, timeout), { exchange: PIDBOX_EXCHANGE, routingKey: '' });
      await done;
    } finally {
      clearTimeout(timer);
      await subscription.cancel();
      await broker.deleteQueue?.(queue);
    }
    return replies;
  }

  /** Workers answer `{ ok: 'pong' }`. */
  ping(options: Omit<BroadcastOptions, 'reply' | 'arguments'> = {}): Promise<Array<ControlReply<{ ok: string }>>> {
    return this.broadcast('ping', { ...options, reply: true });
  }

  /**
   * Revokes tasks on every worker: a revoked task never starts (REVOKED is stored when a worker meets
   * it); `terminate` also stops it where it runs. Revokes are kept by workers for 3 hours (and across
   * restarts with a state file).
   */
  async revoke(taskIds: string | readonly string[], options: { terminate?: boolean; signal?: string } & Omit<BroadcastOptions, 'arguments'> = {}): Promise<Array<ControlReply<{ ok: string }>>> {
    const ids = typeof taskIds === 'string' ? [taskIds] : [...taskIds];
    const { terminate, signal, ...rest } = options;
    return this.broadcast('revoke', { ...rest, arguments: { task_id: ids, terminate: terminate ?? false, signal: signal ?? 'SIGTERM' } });
  }

  /** Changes a task type's rate limit on the workers ('10/s', '100/m', '1000/h'; 0 removes it). */
  rateLimit(taskName: string, rateLimit: string | number, options: Omit<BroadcastOptions, 'arguments'> = {}): Promise<Array<ControlReply<{ ok?: string; error?: string }>>> {
    return this.broadcast('rate_limit', { ...options, arguments: { task_name: taskName, rate_limit: rateLimit } });
  }

  /** Stops the workers (warm shutdown). */
  async shutdown(options: Omit<BroadcastOptions, 'reply' | 'arguments'> = {}): Promise<void> {
    await this.broadcast('shutdown', options);
  }

  /** Read-only questions to the workers (Celery's inspect()). */
  inspect(options: Omit<BroadcastOptions, 'reply' | 'arguments'> = {}): Inspect {
    return new Inspect(this, options);
  }
}

/** Merges per-node replies into `{ node: value }`, or null when nobody answered (as Celery). */
function merge<T>(replies: Array<ControlReply<T>>): Record<string, T> | null {
  if (!replies.length) return null;
  return Object.assign({}, ...replies) as Record<string, T>;
}

export class Inspect {
  constructor(
    private readonly control: Control,
    private readonly options: Omit<BroadcastOptions, 'reply' | 'arguments'>,
  ) {}

  private async ask<T>(method: string, args: Record<string, unknown> = {}): Promise<Record<string, T> | null> {
    return merge(await this.control.broadcast<T>(method, { ...this.options, arguments: args, reply: true }));
  }

  ping() {
    return this.ask<{ ok: string }>('ping');
  }
  /** Tasks running now, per worker. */
  active() {
    return this.ask<Array<Record<string, unknown>>>('active', { safe: null });
  }
  /** Tasks received and waiting for a slot. */
  reserved() {
    return this.ask<Array<Record<string, unknown>>>('reserved');
  }
  /** Tasks held for their ETA. */
  scheduled() {
    return this.ask<Array<Record<string, unknown>>>('scheduled');
  }
  /** Ids the workers hold as revoked. */
  revoked() {
    return this.ask<string[]>('revoked');
  }
  registered() {
    return this.ask<string[]>('registered', { taskinfoitems: [] });
  }
  stats() {
    return this.ask<Record<string, unknown>>('stats');
  }
  activeQueues() {
    return this.ask<Array<Record<string, unknown>>>('active_queues');
  }
}
