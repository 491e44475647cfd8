/**
 * The RabbitMQ consumer's watchdog (every `watchdogMs`, 0 disables it). A consumer can stop
 * receiving while its connection looks fine: RabbitMQ cancelled it (basic.cancel: its queue was
 * deleted, perhaps declared again since), its channel closed without an error of its own, or the
 * channel went silent (a wedged channel process on the server; a bug on either side). Each round is
 * cheap: a queue that delivered since the last round, or whose consumer has no credit left, or a full
 * handler window, costs nothing. Otherwise a passive queue.declare (on a throwaway channel) counts its
 * ready messages; if some wait, a second count after a short grace rules out a message published
 * just then, and the consumer is rebuilt: queues this broker declared and that are missing are
 * declared again (as Celery's worker does when its consumer is cancelled), a new channel consumes
 * every queue (but one still missing, consumed again once it is back), and the old channel is
 * cancelled and closed once its deliveries are settled (they stay valid meanwhile). A queue whose
 * consumer RabbitMQ cancelled is consumed again at the next round if it exists (or can be declared
 * again), without waiting for messages. A silent channel's unacked messages stay unacked until
 * RabbitMQ closes it: only the server knows they were never handed over.
 *
 * Not a stall: a waiting consumer of a single-active-consumer queue receives nothing by design; the
 * watchdog knows it of queues declared with `x-single-active-consumer` through this broker only (for
 * such queues declared elsewhere, set consumerWatchdogInterval to 0).
 */
import { BrokerError } from '../../errors';

/** One basic.consume, as the watchdog reads it. */
export interface WatchedTag {
  readonly queue: string;
  /** Messages delivered to this tag and not settled (what RabbitMQ counts against its qos). */
  readonly unacked: number;
  readonly cancelled: boolean;
}

/** The consumer's channel, as the watchdog reads it. */
export interface WatchedSession {
  readonly dead: boolean;
  readonly tags: ReadonlySet<WatchedTag>;
}

/** Ready messages per queue, or 'missing' (404 to a passive declare). */
export type ReadyMessages = Map<string, number | 'missing'>;

/** What the watchdog reads of, and does to, its consumer. */
export interface WatchedConsumer {
  readonly queues: readonly string[];
  /** The broker's URL without credentials, for messages. */
  readonly redacted: string;
  /** RabbitMQ's credit per consumer tag (the qos prefetch-count). */
  readonly credit: number;
  /** Deliveries per queue since start (kept up to date by the consumer). */
  readonly delivered: ReadonlyMap<string, number>;
  /** The current channel: the same object until the consumer moves to a new one. */
  session(): WatchedSession | null;
  /** pauseWhenFull: its task queues' consumers are cancelled on purpose. */
  paused(): boolean;
  /** True while something else is already bringing the consumer back (or it is stopped). */
  recovering(): boolean;
  /** The handler window has room and no message waits in memory. */
  hasRoom(): boolean;
  /** True when the broker declared `queue` with x-single-active-consumer. */
  isSingleActiveConsumer(queue: string): boolean;
  /** True when a rebuild can declare `queue` again (a broadcast queue, or one the broker declared). */
  canDeclare(queue: string): boolean;
  readyMessages(queues: readonly string[]): Promise<ReadyMessages>;
  /** Notes when the interruption was first noticed (for onRecover's downMs). */
  markDown(): void;
  /** Consumes every queue on a new channel and retires the current one. */
  rebuild(): Promise<void>;
}

export interface WatchdogHooks {
  onError?: (error: unknown) => void;
}

/** The second look at a queue that seems stalled comes this much later, at most. */
const MAX_GRACE_MS = 1000;

export class AmqpConsumerWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Deliveries per queue at the last round. */
  private readonly lastSeen = new Map<string, number>();

  constructor(
    private readonly consumer: WatchedConsumer,
    readonly intervalMs: number,
    private readonly hooks: WatchdogHooks,
  ) {}

  start(): void {
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(): void {
    if (!this.intervalMs || this.stopped) return;
    this.timer = setTimeout(() => {
      void this.round().finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref(); // never what keeps a process alive
  }

  /** Rebuilds the consumer when it stopped receiving. Never rejects. */
  private async round(): Promise<void> {
    const c = this.consumer;
    try {
      const why = await this.diagnose();
      if (!why || c.recovering()) return;
      c.markDown();
      this.hooks.onError?.(new BrokerError(`The consumer of ${c.queues.join(', ')} on RabbitMQ ${c.redacted} stopped receiving (${why}): rebuilding it.`));
      await c.rebuild();
    } catch (err) {
      if (!this.stopped) this.hooks.onError?.(err);
    }
  }

  /** Why the consumer must be rebuilt, or null when it is healthy (or cannot be judged now). */
  private async diagnose(): Promise<string | null> {
    const c = this.consumer;
    if (c.recovering() || c.paused()) return null;
    const s = c.session();
    // closed without an error of its own while the connection lives on: nobody else reopens it
    if (!s || s.dead) return 'its channel was closed';
    const counts = new Map(c.delivered);
    const quiet: string[] = [];
    const cancelled: string[] = [];
    for (const queue of c.queues) {
      const live = [...s.tags].filter((t) => t.queue === queue && !t.cancelled);
      if (!live.length) cancelled.push(queue);
      else if ((counts.get(queue) ?? 0) === (this.lastSeen.get(queue) ?? 0) && live.some((t) => t.unacked < c.credit) && !c.isSingleActiveConsumer(queue)) quiet.push(queue);
    }
    for (const [queue, n] of counts) this.lastSeen.set(queue, n);
    if (cancelled.length) {
      // back if it exists again, or if the rebuild can declare it (a queue nobody declares any more stays unconsumed)
      const found = await c.readyMessages(cancelled);
      const back = cancelled.filter((q) => found.get(q) !== 'missing' || c.canDeclare(q));
      if (back.length) return `RabbitMQ cancelled the consumer of ${back.map((q) => `"${q}"`).join(', ')}`;
    }
    if (!quiet.length || !c.hasRoom()) return null;
    // two counts apart, so that a message published just before the first is not taken for a stall
    const first = await c.readyMessages(quiet);
    let stalled = quiet.filter((q) => first.get(q) !== 0);
    if (!stalled.length) return null;
    await new Promise((resolve) => setTimeout(resolve, Math.min(MAX_GRACE_MS, this.intervalMs / 2)).unref());
    stalled = stalled.filter((q) => (c.delivered.get(q) ?? 0) === (counts.get(q) ?? 0));
    if (!stalled.length || !c.hasRoom() || c.session() !== s || c.recovering()) return null;
    const second = await c.readyMessages(stalled);
    stalled = stalled.filter((q) => second.get(q) !== 0 && (c.delivered.get(q) ?? 0) === (counts.get(q) ?? 0));
    if (!stalled.length) return null;
    const what = (q: string): string => {
      const n = second.get(q);
      return n === 'missing' ? `"${q}" is missing` : `${n} message(s) wait in "${q}"`;
    };
    return `nothing delivered for ${this.intervalMs} ms while ${stalled.map(what).join(', ')}`;
  }
}
