/**
 * Delayed delivery on Redis (`publishDelayed`): Celeriac's own, not Kombu's (Kombu's Redis transport
 * has none). Why: a worker holding an ETA message unacked past the visibility timeout sees it restored
 * by `restore_visible` and run a second time elsewhere (Celery #4400). Instead the worker hands an ETA
 * beyond its hold limit to `publishDelayed` and acks it; nobody holds it meanwhile.
 *
 * - `celeriac.delayed` (keys.ts `DELAYED_KEY`, behind the key prefix): a sorted set, each member
 *   `{"queue", "list", "envelope"}` (keys.ts `delayedMember`), scored by its due time in ms of the
 *   Redis clock (one clock for every mover, whatever the hosts' clocks say).
 * - Every broker with a list consumer runs a mover: about once a second, and at the due time of a
 *   member it published itself when sooner, one Lua script (redis-scripts.ts `MOVE_DUE_LUA`) takes the
 *   due members (at most {@link MOVE_BATCH} per call), pushes each to its queue's priority list as next
 *   in line and removes it, in one atomic step: two movers never move one message, and nothing is lost
 *   or doubled between steps.
 * - The envelope is the message as published, `eta` header included (exchange '' and the queue as
 *   routing key, a fresh delivery tag): whichever worker receives it, Celeriac or Python Celery, sees it
 *   due and runs it at once. Mixed fleets stay correct.
 *
 * A worker defers a message it holds with `Delivery.defer` (redis-consumer.ts): one script turns its
 * `unacked` entry into a member (the envelope as received), so a crash cannot leave both.
 *
 * Limits: only Celeriac workers move the set. If only Python workers consume, members wait until a
 * Celeriac worker consumes from this Redis (same key prefix) again. Python Celery clients never write
 * here: they put ETA messages on the queue as always, and our workers defer them when far. Precision is
 * the poll (about 1 s late at worst). Standalone Redis only (the script writes list keys it computes), as
 * Kombu's transport.
 */
import { randomUUID } from 'node:crypto';
import { BrokerError, DecodeError } from '../../errors';
import type { WireMessage } from '../../protocol/wire-message';
import { delayedMember, encodeEnvelope, type KombuKeys } from './keys';
import type { RedisClients } from './redis-connection';

/** Longest wait between two moves. */
export const DELAYED_POLL_MS = 1000;
/** Most members one script call moves (it runs again at once when it took that many). */
export const MOVE_BATCH = 500;

export interface DelayedContext {
  readonly clients: RedisClients;
  readonly keys: KombuKeys;
}

export class RedisDelayedMover {
  /** Consumers of the broker that keep the mover running. */
  private users = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Local time the timer fires at (Infinity: none). */
  private nextAt = Infinity;
  private running: Promise<void> | undefined;
  private rerun = false;
  private failing = false;
  private onError: ((error: unknown) => void) | undefined;

  constructor(private readonly ctx: DelayedContext) {}

  /** Adds `message` for `queue`, due in `delaySeconds` (Redis clock). */
  async add(message: WireMessage, queue: string, delaySeconds: number): Promise<void> {
    if (!Number.isFinite(delaySeconds) || delaySeconds < 0) throw new BrokerError(`publishDelayed needs a delay of 0 seconds or more, got ${delaySeconds}.`);
    if (!queue) throw new BrokerError('publishDelayed needs a queue name.');
    const { clients, keys } = this.ctx;
    const envelope = encodeEnvelope(message, { exchange: '', routingKey: queue }, randomUUID());
    const delayMs = Math.round(delaySeconds * 1000);
    await clients.run(() => clients.cmd.celeriacDelay(1, keys.delayed, delayMs, delayedMember(queue, message.properties.priority, envelope)));
    this.wakeIn(delayMs);
  }

  /** A member due in `delayMs` was added (publishDelayed, Delivery.defer): move no later than then. */
  wakeIn(delayMs: number): void {
    this.wakeAt(Date.now() + delayMs);
  }

  /**
   * Moves every due member to its queue now; returns how many. Members that are not ours are moved to
   * the dead-letter list (reported through the consumer's `onError`).
   */
  async moveDue(): Promise<number> {
    return (await this.moveAll()).moved;
  }

  /** A consumer started: keep moving (its `onError` hears of failures, once per outage). */
  start(onError: ((error: unknown) => void) | undefined): void {
    this.users++;
    this.onError ??= onError;
    this.wakeAt(Date.now());
  }

  /** A consumer stopped: the last one stops the mover. */
  stop(): void {
    this.users = Math.max(0, this.users - 1);
    if (this.users === 0) this.halt();
  }

  /** Stops moving; resolves once a move in progress is over. */
  async close(): Promise<void> {
    this.users = 0;
    this.halt();
    await this.running;
  }

  private halt(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.nextAt = Infinity;
    this.onError = undefined;
  }

  private async moveAll(): Promise<{ moved: number; nextInMs: number }> {
    const { clients, keys } = this.ctx;
    let moved = 0;
    let refused = 0;
    for (;;) {
      const [m, taken, next] = await clients.run(() => clients.cmd.celeriacMoveDue(2, keys.delayed, keys.deadLetter, keys.prefix, MOVE_BATCH));
      moved += Number(m);
      refused += Number(taken) - Number(m);
      if (Number(taken) < MOVE_BATCH) {
        if (refused) this.onError?.(new DecodeError(`Moved ${refused} member(s) of "${keys.delayed}" that are not delayed deliveries to the dead-letter list "${keys.deadLetter}".`));
        return { moved, nextInMs: Number(next) };
      }
    }
  }

  /** Makes the next move happen at `at` (local ms) at the latest, while a consumer runs. */
  private wakeAt(at: number): void {
    if (this.users === 0 || at >= this.nextAt) return;
    clearTimeout(this.timer);
    this.nextAt = at;
    this.timer = setTimeout(this.tick, Math.max(0, at - Date.now()));
  }

  private readonly tick = (): void => {
    this.timer = undefined;
    this.nextAt = Infinity;
    if (this.users === 0) return;
    if (this.running) {
      this.rerun = true; // woken during a move: once more right after it
      return;
    }
    this.running = this.moveAll().then(
      ({ nextInMs }) => {
        this.failing = false;
        return nextInMs;
      },
      (err: unknown) => {
        if (!this.failing) this.onError?.(this.ctx.clients.wrap(err)); // once per outage; the consumers report it too
        this.failing = true;
        return -1;
      },
    ).then((nextInMs) => {
      this.running = undefined;
      const wait = this.rerun ? 0 : nextInMs >= 0 ? Math.min(nextInMs, DELAYED_POLL_MS) : DELAYED_POLL_MS;
      this.rerun = false;
      this.wakeAt(Date.now() + wait);
    });
  };
}
