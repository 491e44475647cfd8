/**
 * One consume() call on RabbitMQ: a channel of its own, one basic.consume per queue (manual ack),
 * and the handler's prefetch window.
 *
 * Flow control. `basic.qos(prefetch, global=false)`: per consumer, as quorum queues refuse global qos
 * (celery-wire.md §4.1). RabbitMQ counts *unacked* messages, the window counts *handler calls*: a
 * message that arrives while the window is full waits in memory (still unacked, so a lost
 * connection gives it back), and the handler never has more than `prefetch` calls in flight.
 * A handler may return without settling (the worker holds ETA tasks that way); Celery then raises
 * its global qos by one, which per-consumer qos cannot do for a running consumer (RabbitMQ applies a
 * new qos to new consumers only). So when a consumer has used all its credit on held messages while
 * the window has room, we start a new consumer on the queue (fresh credit) and cancel the old one;
 * the held messages stay unacked on the channel and can still be settled.
 *
 * The channel of one connection, its consumer tags and their counts: amqp-consumer-session.ts.
 * Settling (ack/reject/restore, once; acks batched per event-loop turn): amqp-acks.ts.
 *
 * Broadcast queues (bound to a fanout exchange): declared on this channel when consumed
 * (auto-delete, so nothing is stored once nobody consumes), consumed with manual ack too so that
 * RabbitMQ's qos bounds what it pushes; each message is acked by us when its handler call ends, and
 * ack/reject/restore are no-ops for the handler (broker.ts).
 *
 * Connection loss: the deliveries of the dead channel become no-ops, messages waiting in memory are
 * dropped (RabbitMQ requeues them), and after each reconnect the consumer opens a new channel and
 * consumes again, retrying with a backoff while that fails. Each step is reported through onError,
 * the success through onRecover.
 *
 * A consumer that stopped receiving while its connection looks fine is rebuilt by its watchdog
 * (amqp-consumer-watchdog.ts).
 */
import type { Channel, ChannelModel, ConsumeMessage } from 'amqplib';
import { BrokerConnectionError, BrokerError } from '../../errors';
import type { ConsumerRecovery, ConsumerStatus, DeliveryHandler } from '../broker';
import { ACK, type SettleOp } from './amqp-acks';
import type { AmqpConnection } from './amqp-connection';
import { ConsumerSession, type ConsumerTag, type SessionMessageHandler } from './amqp-consumer-session';
import { AmqpConsumerWatchdog, type WatchedConsumer } from './amqp-consumer-watchdog';
import { replyCode, wrapAmqpError } from './amqp-errors';
import { AmqpDelivery } from './amqp-delivery';
import { readyMessages } from './amqp-ready-messages';
import type { FanoutBinding } from './amqp-topology';

/** What a consumer needs of its broker. */
export interface ConsumerContext {
  readonly conn: AmqpConnection;
  fanoutBindings(queue: string): FanoutBinding[] | undefined;
  declareFanoutQueue(ch: Channel, queue: string, bindings: readonly FanoutBinding[]): Promise<void>;
  /** Declares again what the broker declared (once per connection); resolves with the errors. */
  redeclare(): Promise<unknown[]>;
  /** True when the broker declared `queue` (and did not delete it since). */
  knowsQueue(queue: string): boolean;
  /** True when the broker declared `queue` with x-single-active-consumer. */
  isSingleActiveConsumer(queue: string): boolean;
  /** Declares again one queue the broker declared; false when it never did. */
  redeclareQueue(queue: string): Promise<boolean>;
}

export interface AmqpConsumerOptions {
  /** Handler calls in flight, at most (and the qos prefetch-count). */
  prefetch: number;
  /** Cancel the consumers while the window is full, consume again when it has room (see pause()). */
  pauseWhenFull?: boolean;
  onError?: (error: unknown) => void;
  onRecover?: (event: ConsumerRecovery) => void;
  /** Milliseconds between watchdog rounds; 0 disables the watchdog. */
  watchdogMs: number;
}

/** One message received, from arrival to settlement. */
type Received = AmqpDelivery<ConsumerSession, ConsumerTag>;

const MAX_BACKOFF_MS = 5000;
const MAX_QOS = 65_535;
const CONNECTION_FORCED = 320;

export class AmqpConsumer {
  private readonly prefetch: number;
  private readonly queues: string[];
  private readonly handler: DeliveryHandler;
  private readonly onError?: (error: unknown) => void;
  private readonly onRecover?: (event: ConsumerRecovery) => void;
  private readonly watchdog: AmqpConsumerWatchdog;
  /** Deliveries per queue since start (the watchdog compares them between rounds). */
  private readonly delivered = new Map<string, number>();
  /** When the current interruption was first noticed (for onRecover's downMs). */
  private downSince: number | undefined;
  private inFlight = 0;
  private readonly pauseWhenFull: boolean;
  /** pauseWhenFull: the task queues' consumers are cancelled until the window has room. */
  private paused = false;
  private session: ConsumerSession | null = null;
  private readonly waiting: Received[] = [];
  private draining = false;
  private cancelled = false;
  private cancelling?: Promise<void>;
  private resuming: Promise<void> | null = null;
  private retryTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly unsubscribe: (() => void)[] = [];

  constructor(
    private readonly ctx: ConsumerContext,
    queues: readonly string[],
    handler: DeliveryHandler,
    options: AmqpConsumerOptions,
  ) {
    this.queues = [...new Set(queues)];
    this.handler = handler;
    this.prefetch = Math.max(1, Math.floor(options.prefetch));
    this.pauseWhenFull = options.pauseWhenFull === true;
    this.onError = options.onError;
    this.onRecover = options.onRecover;
    this.watchdog = new AmqpConsumerWatchdog(this.watched(), Math.max(0, options.watchdogMs), { onError: options.onError });
  }

  /** Consumes on the live connection; a missing queue or a refused declaration fails it. */
  async start(): Promise<void> {
    this.session = await this.open(await this.ctx.conn.model());
    this.unsubscribe.push(
      this.ctx.conn.onDisconnect((err) => {
        if (this.cancelled) return;
        this.waiting.length = 0; // unacked on the dead channel: RabbitMQ requeues them
        this.downSince ??= Date.now();
        this.report(new BrokerConnectionError(`Lost the connection to RabbitMQ ${this.ctx.conn.redacted} (${err.message}); consuming ${this.queues.join(', ')} again once reconnected.`, { cause: err }));
      }),
      this.ctx.conn.onRetry(({ attempt, delay, error }) => {
        if (!this.cancelled) this.report(new BrokerConnectionError(`Reconnecting to RabbitMQ ${this.ctx.conn.redacted}: attempt ${attempt} in ${delay} ms (${error.message}).`, { cause: error }));
      }),
      this.ctx.conn.onReconnect((model) => void this.resume('reconnected', model)),
    );
    this.watchdog.start();
  }

  /** Consuming when connected, on a live channel, with a live consumer tag for every queue. */
  status(): ConsumerStatus {
    if (this.cancelled) return { consuming: false, reason: 'cancelled' };
    if (this.paused && this.ctx.conn.connected) return { consuming: true }; // full on purpose (pauseWhenFull)
    if (!this.ctx.conn.connected) return { consuming: false, reason: 'not connected to RabbitMQ' };
    const s = this.session;
    if (!s || s.dead) return { consuming: false, reason: 'no open channel' };
    if (this.resuming) return { consuming: false, reason: 'resuming' };
    const live = s.liveQueues();
    const missing = this.queues.filter((q) => !live.has(q));
    return missing.length ? { consuming: false, reason: `no consumer on ${missing.join(', ')}` } : { consuming: true };
  }

  /** Stops consuming; waiting messages go back to their queue. The channel stays open until held deliveries are settled. */
  cancel(): Promise<void> {
    this.cancelling ??= (async () => {
      this.cancelled = true;
      clearTimeout(this.retryTimer);
      this.watchdog.stop();
      for (const u of this.unsubscribe.splice(0)) u();
      await this.resuming;
      const s = this.session;
      if (!s || s.dead) return;
      await Promise.all([...s.tags].map((t) => s.cancel(t)));
      for (const r of this.waiting.splice(0)) this.settle(r, (ch) => ch.nack(r.msg, false, true));
      s.closeIfIdle();
    })();
    return this.cancelling;
  }

  /** Closes the channel now (broker close): unsettled deliveries go back to their queues. */
  async close(): Promise<void> {
    await this.cancel();
    const s = this.session;
    this.session = null;
    await s?.close();
  }

  /** A new channel consuming every queue, but those in `skip` (missing, and nobody here declares them). */
  private async open(model: ChannelModel, skip?: ReadonlySet<string>): Promise<ConsumerSession> {
    const where = `${this.ctx.conn.redacted} (consuming ${this.queues.join(', ')})`;
    let channel: Channel;
    try {
      channel = await model.createChannel();
    } catch (err) {
      throw wrapAmqpError(err, where);
    }
    const session = new ConsumerSession(channel, this.onSessionMessage);
    let closeError: Error | undefined;
    channel.on('error', (err: Error) => (closeError = err));
    channel.on('close', () => this.onChannelClose(session, closeError));
    try {
      await channel.prefetch(Math.min(this.prefetch, MAX_QOS), false); // prefetch-count is a short
      for (const queue of this.queues) {
        if (skip?.has(queue)) continue;
        const bindings = this.ctx.fanoutBindings(queue);
        if (bindings) await this.ctx.declareFanoutQueue(channel, queue, bindings);
        await session.consume(queue, bindings !== undefined);
      }
    } catch (err) {
      session.dead = true;
      channel.close().catch(() => undefined);
      const e = closeError ?? err;
      if (replyCode(e) === 404) {
        throw new BrokerError(`Cannot consume from RabbitMQ ${this.ctx.conn.redacted}: ${(e as Error).message}. Declare the queue first.`, { cause: e });
      }
      throw wrapAmqpError(e, where);
    }
    return session;
  }

  private readonly onSessionMessage: SessionMessageHandler = (session, tag, msg) => this.onMessage(session, tag, msg);

  private onMessage(session: ConsumerSession, tag: ConsumerTag, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // basic.cancel from RabbitMQ: the queue was deleted
      session.tags.delete(tag);
      if (this.cancelled || tag.cancelled || this.session !== session) return;
      this.downSince ??= Date.now();
      const next = this.watchdog.intervalMs
        ? `the watchdog consumes it again within ${Math.ceil(this.watchdog.intervalMs / 1000)} s if it exists or can be declared again`
        : 'its messages are no longer received (the consumer watchdog is disabled)';
      this.report(new BrokerError(`RabbitMQ cancelled the consumer of queue "${tag.queue}" (was it deleted?); ${next}.`));
      return;
    }
    this.delivered.set(tag.queue, (this.delivered.get(tag.queue) ?? 0) + 1);
    let r: Received;
    try {
      r = new AmqpDelivery(msg, session, tag, this.settleDelivery);
    } catch (err) {
      // headers amqplib decoded but we cannot make sense of: refuse the message rather than loop on it
      // (at once: a `multiple` ack sent later skips it, as it is no longer outstanding)
      if (!session.dead) {
        try {
          session.channel.reject(msg, false);
        } catch {
          // the channel closed meanwhile: RabbitMQ gives it back, and it is refused again
        }
      }
      this.report(new BrokerError(`Rejected a message from "${tag.queue}" that could not be read: ${(err as Error).message}`, { cause: err }));
      return;
    }
    tag.unacked++;
    session.unsettled++;
    session.acks.received(r);
    if (this.cancelled) {
      this.settle(r, (ch) => ch.nack(msg, false, true));
      return;
    }
    if (this.pauseWhenFull && !tag.fanout && this.inFlight >= this.prefetch) {
      // sent before RabbitMQ saw our cancel (or on a new channel): back to the queue for a consumer with room
      this.settle(r, (ch) => ch.nack(msg, false, true));
      this.pause();
      return;
    }
    this.waiting.push(r);
    this.drain();
  }

  private readonly settleDelivery = (r: Received, op: SettleOp): void => this.settle(r, op);

  /** Settles `r` on its channel (amqp-acks.ts), once, and keeps its tag's and channel's counts. */
  private settle(r: Received, op: SettleOp): void {
    if (!r.session.acks.settle(r, op)) return;
    r.tag.unacked--;
    r.session.unsettled--;
    if (r.held) {
      r.held = false;
      r.tag.held--;
    }
    // a cancelled consumer's channel, or one replaced by the watchdog, closes with its last delivery
    if (this.cancelled || r.session !== this.session) r.session.closeIfIdle();
  }

  /** Hands waiting messages to the handler while the window has room. */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inFlight < this.prefetch && this.waiting.length) {
        const r = this.waiting.shift()!;
        if (!r.session.dead) this.run(r);
      }
    } finally {
      this.draining = false;
    }
    this.renewCredit();
  }

  /**
   * pauseWhenFull: basic.cancel on every task queue while the window is full, so that an early ack
   * (which frees RabbitMQ's credit) brings nothing that would wait here; unpause() consumes again.
   */
  private pause(): void {
    this.paused = true;
    const s = this.session;
    if (!s || s.dead || this.cancelled) return;
    for (const tag of [...s.tags]) if (!tag.fanout && !tag.cancelled) void s.cancel(tag);
  }

  private unpause(): void {
    this.paused = false;
    const s = this.session;
    if (!s || s.dead || this.cancelled) return;
    const live = s.liveQueues();
    for (const queue of this.queues) {
      if (live.has(queue) || this.ctx.fanoutBindings(queue)) continue;
      s.consume(queue, false).catch((err: unknown) => {
        if (!s.dead) this.report(wrapAmqpError(err, `${this.ctx.conn.redacted} (consuming "${queue}" again)`));
      });
    }
  }

  /** Calls the handler; its slot is held until the call settles. A throw or a rejection goes to onError. */
  private run(r: Received): void {
    this.inFlight++;
    if (this.pauseWhenFull && this.inFlight >= this.prefetch) this.pause();
    const done = (): void => {
      this.inFlight--;
      if (this.paused && this.inFlight < this.prefetch) this.unpause();
      if (r.tag.fanout) this.settle(r, ACK);
      else if (!r.settled) {
        r.held = true;
        r.tag.held++;
      }
      this.drain();
    };
    try {
      const ret: unknown = this.handler(r);
      if (ret instanceof Promise) {
        ret.then(done, (err: unknown) => {
          this.report(err);
          done();
        });
      } else done();
    } catch (err) {
      this.report(err);
      done();
    }
  }

  /**
   * A consumer whose qos credit is used up while some of it is held by messages whose handler call
   * ended unsettled gets nothing more, though the window has room: replace it by a new consumer with
   * fresh credit, as Celery raises its qos for each ETA task it holds.
   */
  private renewCredit(): void {
    const s = this.session;
    if (!s || s.dead || this.cancelled || this.inFlight >= this.prefetch || this.waiting.length) return;
    // called after every handler call: no copy of the tag set unless one needs renewing
    let spent: ConsumerTag[] | undefined;
    for (const tag of s.tags) if (!tag.fanout && !tag.cancelled && tag.held > 0 && tag.unacked >= Math.min(this.prefetch, MAX_QOS)) (spent ??= []).push(tag);
    if (!spent) return;
    for (const tag of spent) {
      tag.cancelled = true;
      s.consume(tag.queue, false).then(
        () => s.cancel(tag),
        (err: unknown) => {
          tag.cancelled = false;
          if (!s.dead) this.report(wrapAmqpError(err, `${this.ctx.conn.redacted} (renewing the consumer of "${tag.queue}")`));
        },
      );
    }
  }

  private onChannelClose(session: ConsumerSession, error: Error | undefined): void {
    if (session.dead) return;
    session.dead = true;
    if (this.cancelled || this.session !== session) return;
    this.downSince ??= Date.now();
    // Closed by RabbitMQ while the connection lives on: consume again on a new channel. A channel
    // that went with its connection (no error of its own) is renewed by onReconnect; if the
    // connection in fact lives on, the watchdog notices the dead channel.
    if (!error || replyCode(error) === CONNECTION_FORCED) return;
    this.report(wrapAmqpError(error, `${this.ctx.conn.redacted}: the consumer's channel was closed`));
    this.scheduleRetry('reopened');
  }

  /**
   * Consumes every queue on a new channel, then retires the current one (if still open). `rebuilt`
   * first declares again the missing queues this broker declared; the others redeclare everything,
   * once per connection.
   */
  private resume(kind: ConsumerRecovery['kind'], model?: ChannelModel): Promise<void> {
    if (this.cancelled) return Promise.resolve();
    this.resuming ??= (async () => {
      clearTimeout(this.retryTimer);
      this.retryTimer = undefined;
      try {
        let skip: Set<string> | undefined;
        if (kind === 'rebuilt') skip = await this.redeclareMissing();
        else for (const err of await this.ctx.redeclare()) this.report(err);
        const session = await this.open(model ?? (await this.ctx.conn.model()), skip);
        if (this.cancelled) {
          await session.close();
          return;
        }
        const old = this.session;
        this.session = session;
        if (old && old !== session) old.retire();
        this.failures = 0;
        this.recovered(kind);
        this.drain();
      } catch (err) {
        this.report(err);
        this.scheduleRetry(kind);
      }
    })().finally(() => (this.resuming = null));
    return this.resuming;
  }

  private scheduleRetry(kind: ConsumerRecovery['kind']): void {
    if (this.cancelled || this.retryTimer) return;
    this.failures++;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.resume(kind);
    }, Math.min(MAX_BACKOFF_MS, 100 * 2 ** this.failures));
  }

  private recovered(kind: ConsumerRecovery['kind']): void {
    const downMs = this.downSince === undefined ? undefined : Date.now() - this.downSince;
    this.downSince = undefined;
    const queues = this.queues.join(', ');
    const why = { reconnected: 'after a reconnect', reopened: 'on a new channel after RabbitMQ closed the old one', rebuilt: 'on a new consumer (the old one had stopped receiving)' }[kind];
    const message = `Consuming ${queues} again on RabbitMQ ${this.ctx.conn.redacted} ${why}${downMs === undefined ? '' : `, ${downMs} ms after the problem was noticed`}.`;
    try {
      this.onRecover?.({ kind, queues: this.queues, message, ...(downMs === undefined ? {} : { downMs }) });
    } catch (err) {
      this.report(err); // a throwing logger must not undo the recovery
    }
  }

  /** The watchdog's view of this consumer. */
  private watched(): WatchedConsumer {
    return {
      queues: this.queues,
      redacted: this.ctx.conn.redacted,
      credit: Math.min(this.prefetch, MAX_QOS),
      delivered: this.delivered,
      session: () => this.session,
      paused: () => this.paused,
      recovering: () => this.cancelled || this.resuming !== null || this.retryTimer !== undefined || !this.ctx.conn.connected,
      hasRoom: () => this.inFlight < this.prefetch && this.waiting.length === 0,
      isSingleActiveConsumer: (queue) => this.ctx.isSingleActiveConsumer(queue),
      canDeclare: (queue) => this.ctx.fanoutBindings(queue) !== undefined || this.ctx.knowsQueue(queue),
      readyMessages: (queues) => readyMessages(this.ctx.conn, queues),
      markDown: () => {
        this.downSince ??= Date.now();
      },
      rebuild: () => this.resume('rebuilt'),
    };
  }

  /**
   * Declares again the queues this broker declared that are missing now (the watchdog's rebuild);
   * returns those still missing, which the rebuilt consumer leaves out (the watchdog consumes them
   * again if they come back) rather than failing for every queue.
   */
  private async redeclareMissing(): Promise<Set<string>> {
    const ordinary = this.queues.filter((q) => this.ctx.fanoutBindings(q) === undefined); // declared by open()
    const counts = await readyMessages(this.ctx.conn, ordinary);
    const missing = new Set<string>();
    for (const queue of ordinary) if (counts.get(queue) === 'missing' && !(await this.ctx.redeclareQueue(queue))) missing.add(queue);
    return missing;
  }

  private report(error: unknown): void {
    this.onError?.(error);
  }
}
