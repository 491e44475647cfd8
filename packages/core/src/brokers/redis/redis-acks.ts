/**
 * Kombu's ack (redis.py `QoS.ack`: `ZREM unacked_index <tag>; HDEL unacked <tag>` in a MULTI),
 * batched: every ack of one event-loop turn goes in one script call doing both (redis-scripts.ts
 * `celeriacAck`), per chunk of 1000 tags. A script call costs the client far less than a MULTI,
 * and this runs on every turn in which a task started.
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

  /** Acks `tag` with the others of this turn; resolves when their script call succeeded. */
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
    const { cmd } = this.clients;
    const { unackedIndex, unacked } = this.keys;
    Promise.all(chunks(tags).map((chunk) => cmd.celeriacAck(2, unackedIndex, unacked, ...chunk))).then(() => batch.resolve(), (err: unknown) => batch.reject(this.clients.wrap(err)));
  }
}

function chunks(tags: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < tags.length; i += ACK_CHUNK) out.push(tags.slice(i, i + ACK_CHUNK));
  return out;
}
