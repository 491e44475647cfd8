/**
 * The Redis list consumer's watchdog: notices a consumer that makes no progress while its queues
 * have messages and rebuilds its blocking connection. A healthy consumer's loop comes round at least
 * every BRPOP_TIMEOUT (an idle BRPOP returns empty), so a loop stuck for longer sits on a
 * connection that stopped answering without closing (a half-open TCP connection after a network
 * fault, a proxy that froze): ioredis would wait on it forever. Rounds every `intervalMs`.
 */
import { BrokerError } from '../../errors';
import type { ConsumerRecovery } from '../broker';
import { BRPOP_TIMEOUT } from './keys';

/** What the watchdog reads of, and does to, its consumer. */
export interface WatchedConsumer {
  readonly queues: readonly string[];
  /** Date.now() of the loop's last turn (a fetch or BRPOP that came back, with or without messages). */
  lastProgressAt(): number;
  /** True while progress is not expected: cancelled, backing off after an error, or the window is full. */
  resting(): boolean;
  /** Messages waiting in its queues (all priority lists). */
  waitingMessages(): Promise<number>;
  /** Replaces the blocking connection; the loop resumes on the new one. */
  rebuild(): void;
}

export interface WatchdogHooks {
  onError?: (error: unknown) => void;
  onRecover?: (event: ConsumerRecovery) => void;
}

/** How long the queue-length probe may take before the command connection counts as stuck too. */
const PROBE_TIMEOUT_MS = 2000;

export class RedisConsumerWatchdog {
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** When the current stall was rebuilt, to report the recovery once the loop moves again. */
  private rebuiltAt: number | undefined;

  constructor(
    private readonly consumer: WatchedConsumer,
    private readonly intervalMs: number,
    private readonly hooks: WatchdogHooks,
  ) {}

  start(): void {
    if (this.intervalMs <= 0) return;
    this.timer = setInterval(() => void this.round(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Stalled when the loop has not come round for a BRPOP timeout plus one interval. */
  private get stalledForMs(): number {
    const idle = Date.now() - this.consumer.lastProgressAt();
    return idle > BRPOP_TIMEOUT * 1000 + this.intervalMs ? idle : 0;
  }

  private async round(): Promise<void> {
    if (this.checking) return;
    const c = this.consumer;
    if (this.rebuiltAt !== undefined && Date.now() - c.lastProgressAt() < this.intervalMs) {
      this.hooks.onRecover?.({ kind: 'rebuilt', queues: c.queues, message: `consuming ${c.queues.join(', ')} on a new connection`, downMs: Date.now() - this.rebuiltAt });
      this.rebuiltAt = undefined;
    }
    if (c.resting()) return;
    const stalled = this.stalledForMs;
    if (!stalled) return;
    this.checking = true;
    try {
      let waiting: number;
      try {
        waiting = await withTimeout(c.waitingMessages(), PROBE_TIMEOUT_MS);
      } catch (err) {
        waiting = -1;
        this.hooks.onError?.(new BrokerError(`The consumer of ${c.queues.join(', ')} made no progress for ${Math.round(stalled / 1000)} s and Redis did not answer a queue-length probe (${(err as Error).message}): rebuilding its connection.`, { cause: err }));
      }
      if (waiting === 0 || c.resting() || !this.stalledForMs) return;
      if (waiting > 0) {
        this.hooks.onError?.(new BrokerError(`The consumer of ${c.queues.join(', ')} on Redis stopped receiving (no progress for ${Math.round(stalled / 1000)} s while ${waiting} message(s) wait): rebuilding its connection.`));
      }
      this.rebuiltAt ??= Date.now();
      c.rebuild();
    } finally {
      this.checking = false;
    }
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}
