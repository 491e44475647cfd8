/**
 * The Redis broker's consumer of list queues (celery-wire.md §3.3, §3.4), one per consume() call
 * with a blocking connection of its own.
 *
 * A Lua script pops up to min(free prefetch slots, batchSize) messages in Kombu's order and records
 * each in `unacked` in the same atomic step; the next fetch is issued while a batch is handed out, so
 * Redis and Node work at the same time. When nothing is waiting, `BRPOP keys 1` blocks on the
 * consumer's own connection, then the message is recorded (ZADD+HSET in one EVAL, not awaited) as
 * redis.py `QoS.append` does. Acks are batched per event-loop turn (redis-acks.ts).
 *
 * A popped value that is not a Kombu envelope (Kombu's consumer would crash on it) is moved to the
 * dead-letter list (keys.ts `DEAD_LETTER_KEY`) and reported through `onError`: in the fetch script
 * itself when it is JSON, else from `unacked` in one script, else (BRPOP, or not JSON to Lua's cjson)
 * right after the pop, as Kombu's own BRPOP + MULTI leaves the same window.
 */
import type { Redis } from 'ioredis';
import { BrokerError, DecodeError } from '../../errors';
import type { ConsumerStatus } from '../broker';
import { BRPOP_TIMEOUT, deadLetterEntry, decodeEnvelope, unackedEntry, unackedScore } from './keys';
import type { DecodedEnvelope, KombuKeys } from './keys';
import type { AckBatcher } from './redis-acks';
import type { ConsumeWindow } from './consume-window';
import { quit, type RedisClients } from './redis-connection';
import { RedisConsumerWatchdog, type WatchedConsumer } from './redis-consumer-watchdog';
import { RedisDelivery } from './redis-delivery';
import { recordUnacked } from './redis-scripts';

/** What a list consumer uses of its broker. */
export interface ListConsumerContext {
  readonly clients: RedisClients;
  readonly keys: KombuKeys;
  readonly acks: AckBatcher;
  /** Most messages taken per fetch. */
  readonly batchSize: number;
  /** Watchdog rounds (redis-consumer-watchdog.ts); 0 disables it. */
  readonly watchdogMs: number;
  /** Called after a delivery was deferred into the delayed set, due in `delayMs`. */
  delayedAdded(delayMs: number): void;
  /** Kombu's `restore_visible` when its turn has come (every 10 s per broker), else undefined. */
  restoreIfDue(): Promise<number> | undefined;
}

interface Popped {
  key: string;
  envelope: string;
  /** '' when not recorded in unacked. */
  tag: string;
  decoded?: DecodedEnvelope;
  /** Set when the fetch script moved it to the dead-letter list: why. */
  deadLettered?: string;
}

export class RedisListConsumer {
  /** CLIENT ID of the blocking connection (null when denied), for CLIENT UNBLOCK. */
  blockingId: number | null = null;
  private queues: string[];
  private keys: string[];
  private readonly listQueue = new Map<string, string>();
  private cancelled = false;
  private wake: (() => void) | null = null;
  private blocked = false;
  private loop: Promise<void> = Promise.resolve();
  private cancelling?: Promise<void>;
  /** The last fetch's error while it keeps failing (Redis unreachable), for status(). */
  private failing: Error | null = null;
  /** Date.now() of the loop's last turn, for the watchdog. */
  lastProgressAt = Date.now();
  private watchdog: RedisConsumerWatchdog | undefined;

  private constructor(
    private readonly ctx: ListConsumerContext,
    queues: readonly string[],
    private readonly window: ConsumeWindow,
    private readonly blocking: Redis,
  ) {
    this.queues = [...queues];
    for (const q of this.queues) for (const k of ctx.keys.queueLists(q)) this.listQueue.set(k, q);
    this.keys = ctx.keys.consumeOrder(this.queues);
    window.onRelease(() => {
      const wake = this.wake;
      this.wake = null;
      wake?.();
    });
  }

  /** Opens the blocking connection and starts consuming `queues` (distinct names). */
  static async start(ctx: ListConsumerContext, queues: readonly string[], window: ConsumeWindow): Promise<RedisListConsumer> {
    const blocking = ctx.clients.newClient();
    await ctx.clients.open(blocking);
    const c = new RedisListConsumer(ctx, queues, window, blocking);
    try {
      c.blockingId = await blocking.client('ID');
    } catch {
      c.blockingId = null; // CLIENT ID denied (ACL): cancel() then waits up to the BRPOP timeout
    }
    blocking.on('ready', () => void blocking.client('ID').then((id) => (c.blockingId = id), () => (c.blockingId = null)));
    // Back after an outage: retry at once rather than at the end of the backoff (resume within ~1 s).
    blocking.on('ready', c.wakeIfFailing);
    ctx.clients.cmd.on('ready', c.wakeIfFailing);
    c.loop = c.consumeLoop();
    c.watchdog = new RedisConsumerWatchdog(c.watched(), ctx.watchdogMs, { onError: window.onError, onRecover: window.onRecover });
    c.watchdog.start();
    return c;
  }

  /** The watchdog's view of this consumer. */
  private watched(): WatchedConsumer {
    return {
      queues: this.queues,
      lastProgressAt: () => this.lastProgressAt,
      resting: () => this.cancelled || this.failing !== null || this.window.inFlight >= this.window.prefetch,
      waitingMessages: async () => {
        const cmd = this.ctx.clients.cmd;
        const lengths = await Promise.all(this.keys.map((k) => cmd.llen(k)));
        return lengths.reduce((a, b) => a + b, 0);
      },
      // Reconnects the blocking connection: the stuck BRPOP fails into the loop's retry.
      rebuild: () => this.blocking.disconnect(true),
    };
  }

  private readonly wakeIfFailing = (): void => {
    if (!this.failing) return;
    const wake = this.wake;
    this.wake = null;
    wake?.();
  };

  /** Consuming while not cancelled, both connections are up and the last fetch worked. */
  status(): ConsumerStatus {
    if (this.cancelled) return { consuming: false, reason: 'cancelled' };
    if (this.blocking.status !== 'ready') return { consuming: false, reason: `blocking connection ${this.blocking.status}` };
    if (this.ctx.clients.cmd.status !== 'ready') return { consuming: false, reason: `command connection ${this.ctx.clients.cmd.status}` };
    if (this.failing) return { consuming: false, reason: this.failing.message };
    return { consuming: true };
  }

  /** Stops the loop (messages fetched but not handed out go back where they were) and disconnects. */
  cancel(): Promise<void> {
    this.cancelling ??= (async () => {
      this.cancelled = true;
      this.watchdog?.stop();
      const wake = this.wake;
      this.wake = null;
      wake?.();
      let done = false;
      void this.loop.then(() => (done = true));
      // CLIENT UNBLOCK ends a waiting BRPOP at once (as a timeout, so nothing is lost); repeated in
      // case the BRPOP had not reached Redis yet. Without it the BRPOP ends within BRPOP_TIMEOUT.
      const { cmd } = this.ctx.clients;
      for (let i = 0; i < 40 && !done; i++) {
        if (this.blocked && this.blockingId !== null && cmd.status === 'ready') await cmd.client('UNBLOCK', this.blockingId).catch(() => 0);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([this.loop, new Promise((r) => (timer = setTimeout(r, 25)))]);
        clearTimeout(timer);
      }
      // Still waiting on a connection that does not answer (UNBLOCK did not reach it): cut it.
      if (!done) this.blocking.disconnect();
      await this.loop;
      this.ctx.clients.cmd.off('ready', this.wakeIfFailing);
      await quit(this.blocking);
    })();
    return this.cancelling;
  }

  private async consumeLoop(): Promise<void> {
    const w = this.window;
    let failures = 0;
    // A fetch issued while the previous batch is handed out, so Redis and Node work at the same time.
    let ahead: Promise<Popped[]> | null = null;
    while (!this.cancelled) {
      try {
        if (!ahead) {
          if (w.inFlight >= w.prefetch) {
            await new Promise<void>((resolve) => (this.wake = resolve));
            this.lastProgressAt = Date.now(); // a full window is no stall: the clock restarts with room
            // let every handler finishing in this turn free its slot: one larger fetch, not many small ones
            await new Promise<void>((resolve) => setImmediate(resolve));
            continue;
          }
          const restoring = this.ctx.restoreIfDue();
          if (restoring) await restoring.catch((err: unknown) => this.cancelled || w.onError?.(err));
          ahead = this.fetch(Math.min(w.free, this.ctx.batchSize));
        }
        const batch = await ahead.finally(() => (ahead = null));
        this.lastProgressAt = Date.now();
        if (batch.length) {
          const last = batch[batch.length - 1]!;
          if (this.queues.length > 1) this.rotate(this.listQueue.get(last.key)!);
          const free = w.free - batch.length;
          if (free > 0 && !this.cancelled) {
            ahead = this.fetch(Math.min(free, this.ctx.batchSize));
            ahead.catch(() => undefined); // awaited on the next turn of the loop
          }
        } else if (!this.cancelled) {
          this.blocked = true;
          const res = await this.blocking.brpop(...this.keys, BRPOP_TIMEOUT).finally(() => (this.blocked = false));
          this.lastProgressAt = Date.now();
          if (res) batch.push(this.record(res[0], res[1]));
        }
        if (this.cancelled) {
          await this.giveBack(batch);
          if (ahead !== null) await this.giveBack(await ahead);
          break;
        }
        failures = 0;
        this.failing = null;
        for (const item of batch) this.deliver(item);
      } catch (err) {
        if (this.cancelled) break;
        this.lastProgressAt = Date.now();
        const wrapped = this.ctx.clients.wrap(err);
        this.failing = wrapped instanceof Error ? wrapped : new Error(String(wrapped));
        w.onError?.(wrapped);
        failures++;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Math.min(2000, 100 * 2 ** failures));
          this.wake = () => (clearTimeout(timer), resolve());
        });
      }
    }
  }

  private async fetch(max: number): Promise<Popped[]> {
    const { unackedIndex, unacked, deadLetter } = this.ctx.keys;
    const keys = this.keys;
    const flat = await this.ctx.clients.cmd.celeriacFetch(keys.length + 3, unackedIndex, unacked, deadLetter, ...keys, unackedScore(), max, this.queues.length);
    const out: Popped[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      const index = Number(flat[i]);
      if (index > 0) out.push({ key: keys[index - 1]!, envelope: String(flat[i + 1]), tag: String(flat[i + 2]) });
      else out.push({ key: keys[-index - 1]!, envelope: String(flat[i + 1]), tag: '', deadLettered: String(flat[i + 2]) });
    }
    return out;
  }

  /** A message BRPOP returned: recorded as unacked (ZADD+HSET in one EVAL) as redis.py QoS.append does. */
  private record(key: string, envelope: string): Popped {
    const item: Popped = { key, envelope, tag: '' };
    try {
      item.decoded = decodeEnvelope(envelope);
    } catch {
      return item; // dead-lettered by deliver()
    }
    const { deliveryTag, exchange, routingKey } = item.decoded;
    const { clients, keys } = this.ctx;
    // Sent now, not awaited: the message is delivered while the record travels (one round trip less per
    // message after BRPOP). Its ack goes on the same connection later, so Redis sees record, then ack.
    // If Redis went away between BRPOP and the record, the message is handed over anyway rather than lost.
    item.tag = deliveryTag;
    recordUnacked(clients.cmd, keys.unackedIndex, keys.unacked, unackedScore(), deliveryTag, unackedEntry(envelope, exchange, routingKey)).catch(
      (err: unknown) => this.window.onError?.(clients.wrap(err)),
    );
    return item;
  }

  private deliver(item: Popped): void {
    if (item.deadLettered !== undefined) {
      this.window.onError?.(new DecodeError(`${movedNote(item.key, this.ctx.keys.deadLetter)}: ${item.deadLettered}: ${preview(item.envelope)}`));
      return;
    }
    let d: DecodedEnvelope;
    try {
      d = item.decoded ?? decodeEnvelope(item.envelope);
    } catch (err) {
      this.deadLetter(item, err);
      return;
    }
    this.window.run(new RedisDelivery(this.ctx, d, this.listQueue.get(item.key)!, item.envelope, item.tag !== ''));
  }

  /** Moves a message decodeEnvelope refused to the dead-letter list: out of unacked in one script when recorded there. */
  private deadLetter(item: Popped, error: unknown): void {
    const { clients, keys } = this.ctx;
    const reason = error instanceof Error ? error.message : String(error);
    const report = (e: unknown): void => this.window.onError?.(e);
    clients.cmd.celeriacRestore(3, keys.unackedIndex, keys.unacked, keys.deadLetter, item.tag, deadLetterEntry(reason, item.key, item.envelope), '1', item.tag ? '0' : '1').then(
      (moved) => report(moved ? new DecodeError(`${movedNote(item.key, keys.deadLetter)}: ${reason}`, { cause: error }) : error), // else restored meanwhile by another consumer
      (err: unknown) => {
        const fate = item.tag ? 'it stays in unacked until the visibility timeout' : 'it is lost';
        report(new BrokerError(`Could not move a message from "${item.key}" to the dead-letter list (${clients.wrap(err).message}); ${fate}. ${reason}`, { cause: error }));
      },
    );
  }

  private rotate(queue: string): void {
    // Kombu's round robin (kombu.utils.scheduling.round_robin_cycle.rotate): last used queue to the end.
    const i = this.queues.indexOf(queue);
    if (i < 0) return;
    this.queues.splice(i, 1);
    this.queues.push(queue);
    this.keys = this.ctx.keys.consumeOrder(this.queues);
  }

  /** Undoes fetches that lost their consumer to cancel(): each envelope back where it was popped from. */
  private async giveBack(items: Popped[]): Promise<void> {
    const back = items.filter((i) => i.deadLettered === undefined);
    if (!back.length) return;
    const { unackedIndex, unacked } = this.ctx.keys;
    await this.ctx.clients.cmd.celeriacGiveBack(back.length + 2, unackedIndex, unacked, ...back.map((i) => i.key), ...back.flatMap((i) => [i.tag, i.envelope]));
  }
}

function movedNote(list: string, deadLetter: string): string {
  return `Moved a value from "${list}" to the dead-letter list "${deadLetter}"`;
}

function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 200)}...` : text;
}
