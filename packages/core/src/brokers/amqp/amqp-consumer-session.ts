/**
 * The consumer's channel on one connection: its basic.consume tags and the counts RabbitMQ's qos
 * works on. AmqpConsumer (amqp-consumer.ts) opens one per connection or rebuild; an old one is
 * retired: it gets no new deliveries and closes once the deliveries it holds are settled, so a task
 * still running can ack on the channel its message came on.
 */
import type { Channel, ConsumeMessage } from 'amqplib';
import { ChannelAckBatcher } from './amqp-acks';

/** One basic.consume. */
export interface ConsumerTag {
  readonly queue: string;
  readonly fanout: boolean;
  consumerTag: string;
  /** Messages delivered to this tag and not settled (what RabbitMQ counts against its qos). */
  unacked: number;
  /** Of those, the ones whose handler call ended without settling them. */
  held: number;
  cancelled: boolean;
}

/** What a session does with a delivery; null: RabbitMQ cancelled the consumer (basic.cancel). */
export type SessionMessageHandler = (session: ConsumerSession, tag: ConsumerTag, msg: ConsumeMessage | null) => void;

export class ConsumerSession {
  dead = false;
  readonly tags = new Set<ConsumerTag>();
  /** Deliveries not settled yet, over all tags (old ones included). */
  unsettled = 0;
  /** Settles its deliveries, acks batched per event-loop turn (amqp-acks.ts). */
  readonly acks: ChannelAckBatcher;

  constructor(
    readonly channel: Channel,
    private readonly onMessage: SessionMessageHandler,
  ) {
    this.acks = new ChannelAckBatcher(channel, () => this.dead);
  }

  /** basic.consume on `queue` with manual ack; its deliveries go to the session's handler. */
  async consume(queue: string, fanout: boolean): Promise<ConsumerTag> {
    const tag: ConsumerTag = { queue, fanout, consumerTag: '', unacked: 0, held: 0, cancelled: false };
    this.tags.add(tag);
    try {
      const { consumerTag } = await this.channel.consume(queue, (msg) => this.onMessage(this, tag, msg), { noAck: false });
      tag.consumerTag = consumerTag;
      // cancelled while basic.consume was on its way: cancel it on the server too
      if (tag.cancelled && !this.dead) await this.channel.cancel(consumerTag).catch(() => undefined);
    } catch (err) {
      this.tags.delete(tag);
      throw err;
    }
    return tag;
  }

  /** basic.cancel: no more deliveries through `tag`; those it made stay on the channel to settle. */
  async cancel(tag: ConsumerTag): Promise<void> {
    tag.cancelled = true;
    this.tags.delete(tag);
    if (this.dead || !tag.consumerTag) return;
    await this.channel.cancel(tag.consumerTag).catch(() => undefined);
  }

  /** The queues a live (not cancelled) tag consumes. */
  liveQueues(): Set<string> {
    const live = new Set<string>();
    for (const t of this.tags) if (!t.cancelled) live.add(t.queue);
    return live;
  }

  /** Closes the channel once no delivery is unsettled and no tag consumes. */
  closeIfIdle(): void {
    if (this.dead || this.unsettled > 0 || this.tags.size > 0) return;
    this.acks.flush();
    this.dead = true;
    this.channel.close().catch(() => undefined);
  }

  /** A replaced channel: no new deliveries; closed once those it holds are settled. */
  retire(): void {
    if (this.dead) return;
    for (const tag of [...this.tags]) void this.cancel(tag);
    this.closeIfIdle();
  }

  /** Closes now, the batched acks sent first: unsettled deliveries go back to their queues. */
  async close(): Promise<void> {
    if (this.dead) return;
    this.acks.flush();
    this.dead = true;
    await this.channel.close().catch(() => undefined);
  }
}
