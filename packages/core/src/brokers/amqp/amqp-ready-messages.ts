/**
 * How many messages wait in each queue, by a passive declare on a throwaway channel per queue; a
 * queue that does not exist (404) is 'missing'. The consumer watchdog's probe
 * (amqp-consumer-watchdog.ts), and how a rebuild finds the queues it must declare again.
 */
import type { AmqpConnection } from './amqp-connection';
import type { ReadyMessages } from './amqp-consumer-watchdog';
import { replyCode } from './amqp-errors';

const NOT_FOUND = 404;

export async function readyMessages(conn: AmqpConnection, queues: readonly string[]): Promise<ReadyMessages> {
  const counts: ReadyMessages = new Map();
  await Promise.all(
    queues.map(async (queue) => {
      const n = await conn.withChannel(async (ch) => {
        try {
          return (await ch.checkQueue(queue)).messageCount;
        } catch (err) {
          if (replyCode(err) === NOT_FOUND) return 'missing' as const;
          throw err;
        }
      }, `watchdog checking queue "${queue}"`);
      counts.set(queue, n);
    }),
  );
  return counts;
}
