/**
 * Kombu's ack (redis.py `QoS.ack`: `ZREM unacked_index <tag>; HDEL unacked <tag>` in a MULTI),
 * batched: every ack of one event-loop turn goes in one MULTI, in chunks of 1000 tags per command.
 * Shared by all consumers of a broker.
 */
import type { KombuKeys } from './keys';
import type { RedisClients } from './redis-connection';

const ACK_CHUNK = 1000;

export class AckBatcher {
  private pending: string[] = [];
  private batch: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | null = null;

  constructor(
    private readonly clients: RedisClients,
    private readonly keys: KombuKeys,
  ) {}

  /** Acks `tag` with the others of this turn; resolves when their MULTI succeeded. */
  ack(tag: string): Promise<void> {
    this.pending.push(tag);
    if (!this.batch) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
      this.batch = { promise, resolve, reject };
      setImmediate(() => this.flush());
    }
    return this.batch.promise;
  }

  /** Resolves when the batch being collected, if any, has been sent (errors ignored: its callers see them). */
  async settled(): Promise<void> {
    await this.batch?.promise.catch(() => undefined);
  }

  private flush(): void {
    const tags = this.pending;
    const batch = this.batch!;
    this.pending = [];
    this.batch = null;
    const multi = this.clients.cmd.multi();
    for (let i = 0; i < tags.length; i += ACK_CHUNK) {
      const chunk = tags.slice(i, i + ACK_CHUNK);
      multi.zrem(this.keys.unackedIndex, ...chunk).hdel(this.keys.unacked, ...chunk);
    }
    this.clients.exec(multi).then(() => batch.resolve(), (err: unknown) => batch.reject(this.clients.wrap(err)));
  }
}
