/**
 * One message a Redis list consumer handed out, as the worker settles it (Kombu's QoS on the
 * `unacked` hash, redis.py):
 * - ack: ZREM unacked_index + HDEL unacked, batched per event-loop turn (redis-acks.ts);
 * - reject with requeue: `restore_by_tag(leftmost=True)`: back to the front, marked redelivered;
 *   without requeue: acked (Kombu's Redis transport has no dead-lettering on reject);
 * - restore: back where it was taken from, marked redelivered;
 * - defer: into `celeriac.delayed` and out of `unacked` in one script (redis-delayed.ts).
 * The first settlement wins; a failed one may be tried again.
 *
 * A class rather than a literal with closures: a worker makes one per task, so fewer allocations
 * here is less GC at high rates.
 */
import type { Delivery, DeliveryInfo } from '../broker';
import type { WireMessage } from '../../protocol/wire-message';
import { delayedMember, markRedelivered, stringifyEnvelope, type DecodedEnvelope } from './keys';
import type { ListConsumerContext } from './redis-consumer';

const ALREADY_SETTLED: Promise<void> = Promise.resolve();
const ignoreValue = (): void => undefined;

export class RedisDelivery implements Delivery {
  readonly message: WireMessage;
  readonly info: DeliveryInfo;
  private settled = false;

  constructor(
    private readonly ctx: ListConsumerContext,
    private readonly d: DecodedEnvelope,
    private readonly queue: string,
    /** The envelope as popped (what `celeriac.delayed` keeps). */
    private readonly envelope: string,
    /** Recorded in `unacked` (false: popped by BRPOP and its record failed to decode). */
    private readonly recorded: boolean,
  ) {
    this.message = d.message;
    this.info = { exchange: d.exchange, routingKey: d.routingKey, queue, redelivered: d.redelivered, deliveryTag: d.deliveryTag, priority: d.priority };
  }

  ack(): Promise<void> {
    return this.settle(RedisDelivery.ackOp);
  }

  reject({ requeue }: { requeue: boolean }): Promise<void> {
    return this.settle(requeue ? RedisDelivery.requeueOp : RedisDelivery.ackOp);
  }

  restore(): Promise<void> {
    return this.settle(RedisDelivery.restoreOp);
  }

  async defer(delaySeconds: number): Promise<boolean> {
    const { clients, keys } = this.ctx;
    const delayMs = Math.max(0, Math.round(delaySeconds * 1000));
    const member = delayedMember(this.queue, this.d.priority, this.envelope);
    let added = false;
    await this.settle(async (x) => {
      added = (await clients.cmd.celeriacDefer(3, keys.unackedIndex, keys.unacked, keys.delayed, x.d.deliveryTag, delayMs, member, x.recorded ? '0' : '1')) === 1;
    });
    if (added) this.ctx.delayedAdded(delayMs);
    return added;
  }

  // The settle operations, shared by every delivery (no closure per message).
  private static readonly ackOp = (x: RedisDelivery): Promise<unknown> => x.ctx.acks.ack(x.d.deliveryTag);
  private static readonly requeueOp = (x: RedisDelivery): Promise<unknown> => x.putBack(true);
  private static readonly restoreOp = (x: RedisDelivery): Promise<unknown> => x.putBack(false);

  /** Runs `op` unless settled already; one promise per settlement. A failed op leaves it unsettled (the caller may try again). */
  private settle(op: (x: RedisDelivery) => Promise<unknown>): Promise<void> {
    if (this.settled) return ALREADY_SETTLED;
    this.settled = true;
    try {
      return op(this).then(ignoreValue, (err: unknown) => {
        this.settled = false;
        throw this.ctx.clients.wrap(err);
      });
    } catch (err) {
      this.settled = false;
      return Promise.reject(this.ctx.clients.wrap(err));
    }
  }

  private putBack(leftmost: boolean): Promise<unknown> {
    const { clients, keys } = this.ctx;
    const d = this.d;
    return clients.cmd.celeriacRestore(3, keys.unackedIndex, keys.unacked, keys.queueList(this.queue, d.priority),
      d.deliveryTag, stringifyEnvelope(markRedelivered(d.raw)), leftmost ? '1' : '0', this.recorded ? '0' : '1');
  }
}
