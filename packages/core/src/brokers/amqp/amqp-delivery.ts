/**
 * One message received from RabbitMQ, from arrival to settlement: the Delivery the worker handles
 * and the Settleable the channel's ack batcher tracks, in one object. A class rather than a literal
 * with closures: a worker makes one per task, so fewer allocations here is less GC at high rates.
 *
 * ack/reject/restore settle it once through the consumer (later calls do nothing) and resolve at
 * once: the ack goes out with the turn's batch (amqp-acks.ts), a lost channel means RabbitMQ
 * redelivers. A broadcast (fanout) delivery is acked by the consumer when its handler call ends, so
 * these do nothing for it.
 */
import type { ConsumeMessage } from 'amqplib';
import type { Delivery, DeliveryInfo } from '../broker';
import type { WireMessage } from '../../protocol/wire-message';
import { ACK, type Settleable, type SettleOp } from './amqp-acks';
import { decodeDelivery } from './amqp-message';

/** What a delivery reads of the channel it came on. */
export interface DeliverySession {
  dead: boolean;
}

/** What a delivery reads of the basic.consume it came through. */
export interface DeliveryTag {
  readonly queue: string;
  readonly fanout: boolean;
}

const SETTLED: Promise<void> = Promise.resolve();

export class AmqpDelivery<S extends DeliverySession, T extends DeliveryTag> implements Delivery, Settleable {
  readonly message: WireMessage;
  readonly info: DeliveryInfo;
  settled = false;
  ackPending = false;
  /** Its handler call ended without settling it (an ETA task held): counted in its tag's `held`. */
  held = false;

  /** Throws when amqplib's headers cannot be read as a message (the consumer then rejects it). */
  constructor(
    readonly msg: ConsumeMessage,
    readonly session: S,
    readonly tag: T,
    private readonly settleWith: (d: AmqpDelivery<S, T>, op: SettleOp) => void,
  ) {
    this.message = decodeDelivery(msg);
    const { fields } = msg;
    this.info = {
      exchange: fields.exchange,
      routingKey: fields.routingKey,
      queue: tag.queue,
      redelivered: fields.redelivered,
      deliveryTag: String(fields.deliveryTag),
      priority: (msg.properties.priority as number | undefined) ?? 0,
    };
  }

  ack(): Promise<void> {
    return this.once(ACK);
  }

  reject({ requeue }: { requeue: boolean }): Promise<void> {
    return this.once((ch) => ch.reject(this.msg, requeue));
  }

  restore(): Promise<void> {
    return this.once((ch) => ch.nack(this.msg, false, true));
  }

  /** Its channel died unsettled: RabbitMQ has given it back (broadcasts are never redelivered). */
  isStale(): boolean {
    return !this.tag.fanout && this.session.dead && !this.settled;
  }

  private once(op: SettleOp): Promise<void> {
    if (!this.tag.fanout && !this.settled) this.settleWith(this, op);
    return SETTLED;
  }
}
