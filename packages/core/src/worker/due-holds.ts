/**
 * What a worker does with a task that is not due yet (an ETA or countdown, or a rate-limit wait):
 * - held reserved (unacked) in memory until due, outside the prefetch window as Celery raises its
 *   prefetch, when it is due within `etaHoldLimit` (and within half the broker's visibility timeout);
 * - handed to the broker's delayed delivery when it is due later, or when workerEtaTaskLimit holds
 *   are taken already (then a near ETA keeps its prefetch slot instead, as Celery 5.5 does);
 * - with disablePrefetch, given back to the queue when due, for a worker with a free slot.
 * Rate limits: a task takes its per-worker and global slots when it arrives (or, with a future ETA,
 * when it becomes due) and waits for the later.
 */
import type { Celeriac } from '../app/celeriac';
import type { Delivery } from '../brokers/broker';
import type { TaskMessage } from '../protocol/message-v2';
import type { AnyTask } from '../task/task';
import type { EtaScheduler } from './eta-scheduler';
import type { LimitGate } from './limit-gate';

/** Over workerEtaTaskLimit, an ETA due sooner than this is held (its prefetch slot kept), not deferred. */
const ETA_DEFER_MIN_MS = 1000;

/** How long a given-back due task is remembered (disablePrefetch), so it is not rate limited twice here. */
const READMIT_MS = 60_000;

/** A message the worker holds, from arrival until it is settled or given back. */
export type Held = { delivery: Delivery; message: TaskMessage; state: 'eta' | 'waiting' | 'running'; cancelEta?: () => void; acked: boolean };

/** What holding uses of its worker. */
export interface DueHoldsHost {
  readonly app: Celeriac;
  /** Every held message (running, waiting for a slot, or held until due). */
  readonly held: Set<Held>;
  readonly disablePrefetch: boolean;
  /** Runs a task that became due (waits for a slot, acks, runs). */
  run(held: Held, message: TaskMessage, task: AnyTask): Promise<void>;
  /** Wakes whenIdle() callers once nothing is held. */
  notifyIfIdle(): void;
}

export class DueHolds {
  /** Ids given back when due (disablePrefetch) whose rate-limit slots were taken: not limited again here. */
  private readonly readmitted = new Map<string, number>();

  constructor(
    private readonly host: DueHoldsHost,
    private readonly eta: EtaScheduler,
    private readonly limits: LimitGate,
    /** The worker's etaHoldLimit option, seconds. */
    private readonly etaHoldLimitS: number | undefined,
  ) {}

  /** Holds a task until `due`: deferred to the broker when over workerEtaTaskLimit, else kept reserved here. */
  async holdUntilDue(held: Held, message: TaskMessage, task: AnyTask, due: Date, limitWait: number): Promise<void> {
    const app = this.host.app;
    // workerEtaTaskLimit reached (counted here, once the rate-limit wait is known, so a burst sees its own holds):
    // a far-enough ETA goes to the broker's delayed delivery too.
    const etaFull = this.etaTasksFull();
    if (etaFull && limitWait === 0 && app.broker.publishDelayed && due.getTime() - Date.now() > ETA_DEFER_MIN_MS) {
      await this.deferToBroker(held, message, due.getTime() - Date.now());
      return;
    }
    // Held reserved (unacked) until due, outside the prefetch window, as Celery raises its prefetch.
    held.state = 'eta';
    // Over workerEtaTaskLimit and not deferred: the delivery keeps its prefetch slot until due (as
    // Celery 5.5 stops raising its prefetch), so fetching slows down; nothing dropped or refetched.
    let releaseSlot = (): void => undefined;
    const slotKept = etaFull ? new Promise<void>((resolve) => (releaseSlot = resolve)) : undefined;
    const fire = (): void => {
      held.state = 'waiting';
      held.cancelEta = undefined;
      if (this.host.disablePrefetch) void this.giveBackDue(held);
      else this.host.run(held, message, task).catch((err: unknown) => app.logger.error({ err }, 'ETA task run failed'));
    };
    held.cancelEta = this.eta.schedule(due, () => {
      releaseSlot();
      // An ETA task takes its rate-limit slots when it becomes due.
      if (limitWait > 0) return fire();
      Promise.resolve(this.limitWait(task, null)).then((wait) => {
        if (!this.host.held.has(held) || held.state !== 'eta') return; // revoked or given back meanwhile
        if (wait > 0) held.cancelEta = this.eta.schedule(new Date(Date.now() + wait), fire);
        else fire();
      }, (err: unknown) => app.logger.error({ err }, 'ETA task run failed'));
    });
    if (slotKept) {
      const cancel = held.cancelEta;
      held.cancelEta = () => {
        cancel();
        releaseSlot();
      };
      await slotKept;
    }
  }

  /**
   * Ms a task must wait for its rate limits (0: none): it takes its per-worker and global slots now
   * and waits for the later; a future ETA takes them when due. A task given back when due (disablePrefetch) took them already.
   */
  limitWait(task: AnyTask, message: TaskMessage | null): number | Promise<number> {
    if (message?.eta && message.eta.getTime() > Date.now()) return 0;
    if (message && this.readmitted.delete(message.id)) return 0;
    const local = this.limits.localWait(task);
    // Synchronous unless a global limit needs Redis: no extra await per message on the hot path.
    if (!this.limits.hasGlobal(task)) return local;
    return this.limits.globalWait(task).then((global) => Math.max(local, global));
  }

  /**
   * disablePrefetch: a held task that became due goes back to the queue (first in line) instead of
   * taking a slot outside the prefetch window; it is reserved again by a worker with a free slot.
   */
  private async giveBackDue(held: Held): Promise<void> {
    const { message } = held;
    if (!this.host.held.delete(held)) return;
    const now = Date.now();
    for (const [id, until] of this.readmitted) if (until < now) this.readmitted.delete(id);
    this.readmitted.set(message.id, now + READMIT_MS);
    await held.delivery.restore().catch((err: unknown) => this.host.app.logger.error({ err, id: message.id }, 'Could not give a due task back to the queue'));
    this.host.notifyIfIdle();
  }

  /** Ms of ETA held unacked at most: etaHoldLimit, below half the broker's maxHoldSeconds (Redis visibility timeout). */
  etaHoldMs(): number {
    const limit = (this.etaHoldLimitS ?? 300) * 1000;
    const brokerMax = this.host.app.broker.maxHoldSeconds;
    return brokerMax === undefined ? limit : Math.min(limit, (brokerMax * 1000) / 2);
  }

  /** workerEtaTaskLimit reached: that many ETA (and rate-limit) waits are held in memory already. */
  private etaTasksFull(): boolean {
    const limit = this.host.app.conf.workerEtaTaskLimit;
    return limit !== undefined && this.eta.size >= limit;
  }

  /** Hands a far ETA back to the broker's delayed delivery, then acks: nothing is held meanwhile. */
  async deferToBroker(held: Held, message: TaskMessage, etaMs: number): Promise<void> {
    const { delivery } = held;
    try {
      if (delivery.defer) {
        // One atomic step where the transport has it (Redis): a crash cannot leave a second copy.
        const deferred = await delivery.defer(etaMs / 1000);
        held.acked = true;
        if (!deferred) {
          this.host.app.logger.warn({ task: message.task, id: message.id }, `Task ${message.task}[${message.id}] not deferred: its message was already given back to the queue`);
          return;
        }
      } else {
        await this.host.app.broker.publishDelayed!(delivery.message, delivery.info.queue, etaMs / 1000);
        held.acked = true;
        await delivery.ack();
      }
      this.host.app.logger.info({ task: message.task, id: message.id }, `Task ${message.task}[${message.id}] due in ${Math.round(etaMs / 1000)}s: handed to the broker's delayed delivery`);
    } catch (err) {
      // Not deferred: give it back, another worker (or this one, later) gets it again.
      this.host.app.logger.error({ err, task: message.task, id: message.id }, `Could not defer ETA task ${message.task}[${message.id}]; giving it back to the queue`);
      await delivery.restore().catch(() => undefined);
    } finally {
      this.host.held.delete(held);
      this.host.notifyIfIdle();
    }
  }
}
