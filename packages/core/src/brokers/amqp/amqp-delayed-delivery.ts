/**
 * Delayed delivery on RabbitMQ without holding messages (Celery 5.5 / Kombu's "native delayed
 * delivery" layout), so an ETA task never sits unacked in a worker past RabbitMQ's consumer_timeout
 * (30 min by default; Celery #6760) and never blocks a quorum queue.
 *
 * 28 levels, one per bit of the delay in seconds (up to 2^28 s ≈ 8.5 years):
 * - exchange `celery_delayed_<L>` (topic) and queue `celery_delayed_<L>` (quorum, `x-message-ttl`
 *   2^L s, `x-overflow: reject-publish`, `x-dead-letter-strategy: at-least-once`), dead-lettering to
 *   `celery_delayed_<L-1>` (level 0: to `celery_delayed_delivery`);
 * - the routing key is the delay as 28 dotted bits, most significant first, then the destination:
 *   `0.0.….1.0.1.<queue>` for 5 s. Level L's queue is bound with the pattern whose bit L is `1`;
 *   level L-1's exchange is bound to level L's exchange with the pattern whose bit L is `0`, so a
 *   message waits exactly in the levels of its set bits, shortest wait last;
 * - `celery_delayed_delivery` (topic) routes `#.<queue>` to the destination queue, bound directly
 *   (Celery binds the queue's own exchange, which must be topic; a direct binding works for any queue).
 *
 * Each level queue holds messages of one TTL only, so expiry is FIFO and a long delay never blocks a
 * short one. Precision is one second (the delay is rounded up); the worker holds the last second.
 */
import type { Channel } from 'amqplib';
import { encodeArguments } from './amqp-headers';

export const DELAY_LEVELS = 28;
export const DELAYED_DELIVERY_EXCHANGE = 'celery_delayed_delivery';
export const MAX_DELAY_SECONDS = 2 ** DELAY_LEVELS - 1;

export const levelName = (level: number): string => `celery_delayed_${level}`;

/** `<28 dotted bits>.<routing key>` (Kombu's calculate_routing_key). */
export function delayRoutingKey(delaySeconds: number, routingKey: string): string {
  const seconds = Math.min(MAX_DELAY_SECONDS, Math.max(1, Math.ceil(delaySeconds)));
  return `${seconds.toString(2).padStart(DELAY_LEVELS, '0').split('').join('.')}.${routingKey}`;
}

/** Declares the 28 levels and the delivery exchange (idempotent; the same arguments as Kombu). */
export async function declareDelayTopology(ch: Channel): Promise<void> {
  let queuePattern = '1.#';
  for (let level = DELAY_LEVELS - 1; level >= 0; level--) {
    const name = levelName(level);
    await ch.assertExchange(name, 'topic', { durable: true, autoDelete: false });
    await ch.assertQueue(name, {
      durable: true,
      exclusive: false,
      autoDelete: false,
      arguments: encodeArguments({
        'x-queue-type': 'quorum',
        'x-overflow': 'reject-publish',
        'x-message-ttl': 2 ** level * 1000,
        'x-dead-letter-exchange': level > 0 ? levelName(level - 1) : DELAYED_DELIVERY_EXCHANGE,
        'x-dead-letter-strategy': 'at-least-once',
      }),
    });
    await ch.bindQueue(name, name, queuePattern);
    queuePattern = `*.${queuePattern}`;
  }
  // A 0 at bit L skips level L: level L-1's exchange takes it from level L's.
  let skipPattern = '0.#';
  for (let level = DELAY_LEVELS - 1; level > 0; level--) {
    await ch.bindExchange(levelName(level - 1), levelName(level), skipPattern);
    skipPattern = `*.${skipPattern}`;
  }
  await ch.assertExchange(DELAYED_DELIVERY_EXCHANGE, 'topic', { durable: true, autoDelete: false });
  await ch.bindExchange(DELAYED_DELIVERY_EXCHANGE, levelName(0), skipPattern);
}

/** Lets delayed messages for `queue` reach it. */
export async function bindDelayedDestination(ch: Channel, queue: string): Promise<void> {
  await ch.bindQueue(queue, DELAYED_DELIVERY_EXCHANGE, `#.${queue}`);
}
