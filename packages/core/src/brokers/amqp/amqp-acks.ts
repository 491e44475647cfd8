/**
 * How the RabbitMQ consumer settles its deliveries, one batcher per channel: ack -> basic.ack,
 * reject -> basic.reject(requeue), restore -> basic.nack(requeue=true) (RabbitMQ puts the message
 * back at its original place, marked redelivered). Settling twice, or after the channel died, does
 * nothing: RabbitMQ redelivers whatever was unacked on a dead channel.
 *
 * Acks are batched: every ack of one event-loop turn goes out at its end, as one basic.ack with
 * `multiple` for the longest run of settled deliveries from the oldest on (the common case: tasks
 * finishing in order), and single acks for those settled behind a delivery still open (an ETA task
 * held, a long task), which `multiple` must not cover. One frame instead of one per task is what
 * lets a worker go past the per-ack ceiling. Rejects and nacks go at once.
 */
import type { Channel, ConsumeMessage } from 'amqplib';

/** The settle operation that is batched (see ChannelAckBatcher.flush). */
export const ACK = Symbol('ack');

/** How a delivery is settled: ACK (batched), or a basic.reject / basic.nack sent at once. */
export type SettleOp = ((ch: Channel) => void) | typeof ACK;

/** One delivery on the channel, from arrival to settlement, as its acks see it. */
export interface Settleable {
  readonly msg: ConsumeMessage;
  settled: boolean;
  /** Acked by the handler, the basic.ack not sent yet (flush). */
  ackPending: boolean;
}

/** Oldest deliveries already covered by an ack are dropped from the list past this many. */
const COMPACT_AFTER = 1024;

export class ChannelAckBatcher {
  /** Deliveries in arrival (= delivery tag) order from `head` on, not yet covered by an ack: see flush. */
  private order: Settleable[] = [];
  private head = 0;
  /** Acks waiting for the end of this event-loop turn. */
  private pendingAcks = 0;
  private flushScheduled = false;

  constructor(
    private readonly channel: Channel,
    /** True once the channel is closed, or closing (then nothing is sent on it any more). */
    private readonly isDead: () => boolean,
  ) {}

  /** Notes a delivery in arrival order, so that a `multiple` ack covers it only once it is settled. */
  received(d: Settleable): void {
    this.order.push(d);
  }

  /**
   * Settles `d` with `op` on the channel, unless that channel is dead (then RabbitMQ redelivers).
   * Acks wait for the end of the event-loop turn (flush), rejects and nacks go at once. False when
   * `d` was settled already (nothing is sent again).
   */
  settle(d: Settleable, op: SettleOp): boolean {
    if (d.settled) return false;
    d.settled = true;
    if (op === ACK) this.ack(d);
    else if (!this.isDead()) {
      try {
        op(this.channel);
      } catch {
        // the channel closed meanwhile: nothing to settle any more
      }
    }
    return true;
  }

  /**
   * Sends the acks of this turn: one basic.ack with `multiple` over the settled run from the oldest
   * delivery on, single acks for the others. Called at the end of the turn, and before the channel
   * is closed on purpose.
   */
  flush(): void {
    this.flushScheduled = false;
    if (this.isDead()) {
      this.order.length = 0;
      this.head = 0;
      this.pendingAcks = 0;
      return;
    }
    if (this.pendingAcks === 0) return;
    let last: Settleable | undefined;
    while (this.head < this.order.length) {
      const d = this.order[this.head]!;
      if (!d.settled) break;
      if (d.ackPending) {
        d.ackPending = false;
        this.pendingAcks--;
        last = d;
      }
      this.head++;
    }
    try {
      // settled deliveries in the run that were rejected are no longer outstanding: `multiple` skips them
      if (last) this.channel.ack(last.msg, true);
      for (let i = this.head; this.pendingAcks > 0 && i < this.order.length; i++) {
        const d = this.order[i]!;
        if (!d.ackPending) continue;
        d.ackPending = false;
        this.pendingAcks--;
        this.channel.ack(d.msg);
      }
    } catch {
      // the channel closed meanwhile: RabbitMQ redelivers what it had not been told
    }
    this.pendingAcks = 0;
    if (this.head > COMPACT_AFTER && this.head * 2 > this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
  }

  /** Queues the ack of `d` for the end of this event-loop turn. */
  private ack(d: Settleable): void {
    if (this.isDead()) return;
    d.ackPending = true;
    this.pendingAcks++;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => this.flush());
  }
}
