/**
 * The worker. Start order: connect broker and backend, declare queues, consume. Stop order (warm):
 * stop consuming, give back reserved-but-unstarted messages, wait for running tasks up to
 * workerShutdownTimeout, then give back what is still held. A cold stop skips the wait.
 *
 * Per message: decode (malformed or unaccepted content: logged, FAILURE stored when the id is known,
 * rejected without requeue) → look up the task (unknown: NotRegistered FAILURE, rejected) → expired?
 * (REVOKED, acked) → ETA? (held until due) → wait for a slot → ack (unless acksLate) → run → ack late.
 * What happens to the messages that will not run is in refusals.ts.
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Celeriac } from '../app/celeriac';
import type { Delivery, Subscription } from '../brokers/broker';
import { ConfigError, toError } from '../errors';
import { decodeTaskMessage, type TaskMessage } from '../protocol/message-v2';
import type { AnyTask } from '../task/task';
import { DueHolds, type Held } from './due-holds';
import { TimerEtaScheduler } from './eta-scheduler';
import { WorkerMailbox } from '../control/worker-mailbox';
import { EventDispatcher } from '../events/event-dispatcher';
import { WorkerEvents } from '../events/worker-events';
import { Executor } from './executor';
import { Refusals } from './refusals';
import { LimitGate } from './limit-gate';
import { RateLimiter } from './rate-limit';
import { RevokedTasks } from './revoked-tasks';
import { buildRequest } from './request';
import { Slots } from './slots';
import { WorkerControl } from './worker-control';
import { Autoscaler } from './pools/autoscaler';
import { createPool } from './pools/create-pool';
import type { Pool } from './pools/pool';
import { describeHealth, type WorkerHealth, type WorkerLifecycle } from './worker-health';
import { expandHostname, type WorkerEventMap, type WorkerOptions } from './worker-options';

export { expandHostname, type WorkerEventMap, type WorkerOptions } from './worker-options';


export class Worker extends EventEmitter<WorkerEventMap> {
  readonly hostname: string;
  readonly queues: string[];
  readonly concurrency: number;
  readonly prefetch: number;
  private readonly slots: Slots;
  /** Where tasks run (-P). */
  readonly pool: Pool;
  private readonly autoscaler: Autoscaler | undefined;
  private readonly executor: Executor;
  /** Messages that will not run: invalid, unknown task, revoked or expired. */
  private readonly refusals: Refusals;
  /** Tasks not due yet: held here until due, or handed to the broker's delayed delivery (due-holds.ts). */
  private readonly due: DueHolds;
  private readonly held = new Set<Held>();
  private subscription: Subscription | undefined;
  private stopping: Promise<void> | undefined;
  private cold = false;
  private readonly idleWaiters: Array<() => void> = [];
  /** Tasks done per name (for stats and the banner's counters). */
  readonly processed = new Map<string, number>();
  /** Unix seconds of start(). */
  startedAt = Date.now() / 1000;
  /** Ids revoked on this worker (remote control), kept 3 h; across restarts with `stateDb`. */
  readonly revoked: RevokedTasks;
  /** Per task type rate limits (task option rateLimit, taskDefaultRateLimit, remote `rate_limit`). */
  readonly rateLimiter = new RateLimiter();
  /** Per-worker and global (Redis) rate limits. */
  private readonly limits: LimitGate;
  /** Reserve only for free slots (workerDisablePrefetch). */
  readonly disablePrefetch: boolean;
  /** What remote control reads and changes (inspect, revoke, rate_limit, events...). */
  private readonly control: WorkerControl;
  private mailbox: WorkerMailbox | undefined;
  private events: WorkerEvents | undefined;
  private lifecycle: WorkerLifecycle = 'created';
  private runningSinceMs: number | null = null;

  constructor(
    readonly app: Celeriac,
    private readonly options: WorkerOptions = {},
  ) {
    super();
    const conf = app.conf;
    this.hostname = expandHostname(options.hostname ?? conf.workerHostname ?? 'celeriac@%h');
    const exclude = new Set(options.excludeQueues ?? []);
    this.queues = [...new Set(options.queues?.length ? options.queues : [conf.taskDefaultQueue])].filter((q) => !exclude.has(q));
    // With autoscale, concurrency (and so the prefetch) is its max; the pool starts at its min.
    this.concurrency = Math.max(1, Math.floor(options.autoscale?.max ?? options.concurrency ?? conf.workerConcurrency));
    this.disablePrefetch = options.disablePrefetch ?? conf.workerDisablePrefetch;
    this.prefetch = this.disablePrefetch ? this.concurrency : this.concurrency * Math.max(1, Math.floor(options.prefetchMultiplier ?? conf.workerPrefetchMultiplier));
    this.limits = new LimitGate(conf, app.logger, this.rateLimiter);
    this.executor = new Executor(app, this.hostname);
    this.refusals = new Refusals(this, this.executor);
    const scale = options.autoscale;
    this.autoscaler = scale
      ? new Autoscaler(scale, () => this.slots.running + this.slots.waiting, (size) => {
          this.slots.resize(size);
          this.pool.resize(size);
        })
      : undefined;
    this.slots = new Slots(this.autoscaler?.size ?? this.concurrency);
    this.pool = createPool(app, this.executor, {
      kind: options.pool ?? conf.workerPool,
      size: this.slots.size,
      hostname: this.hostname,
      appSource: options.appSource,
      maxTasksPerChild: options.maxTasksPerChild ?? conf.workerMaxTasksPerChild,
      maxMemoryPerChild: options.maxMemoryPerChild ?? conf.workerMaxMemoryPerChild,
    });
    this.due = new DueHolds(
      { app, held: this.held, disablePrefetch: this.disablePrefetch, run: (h, m, t) => this.run(h, m, t), notifyIfIdle: () => this.notifyIfIdle() },
      options.etaScheduler ?? new TimerEtaScheduler(),
      this.limits,
      options.etaHoldLimit,
    );
    this.revoked = new RevokedTasks({ stateFile: options.stateDb });
    this.control = new WorkerControl(this, { held: this.held, refusals: this.refusals, events: () => this.events, notifyIfIdle: () => this.notifyIfIdle() });
    if (options.heartbeatInterval !== undefined && !(options.heartbeatInterval > 0)) throw new ConfigError('heartbeatInterval', `heartbeatInterval must be a number of seconds > 0, got ${options.heartbeatInterval}.`);
  }

  /** Healthy only while started and its broker subscription is connected and consuming (probes, --health-port). */
  health(): WorkerHealth {
    let processed = 0;
    for (const n of this.processed.values()) processed += n;
    return describeHealth({
      lifecycle: this.lifecycle,
      hostname: this.hostname,
      queues: this.queues,
      consumer: this.subscription?.status?.(),
      active: this.active,
      processed,
      startedAtMs: this.runningSinceMs,
    });
  }

  /** Whether this worker sends task events (-E, workerSendTaskEvents); remote enable_events may change it later. */
  get sendsTaskEvents(): boolean {
    return this.options.taskEvents ?? this.app.conf.workerSendTaskEvents;
  }

  /** Tasks running now. */
  get active(): number {
    return this.slots.running;
  }

  /** Connects, declares the queues and starts consuming. */
  async start(): Promise<void> {
    if (!this.queues.length) throw new Error('Worker has no queues to consume (all excluded?).');
    if (this.app.signals.has('workerInit')) this.app.signals.emit('workerInit', { worker: this });
    this.lifecycle = 'starting';
    if (this.app.conf.imports.length) await this.app.autodiscover(this.app.conf.imports);
    await this.revoked.load();
    await this.app.connect();
    // A global rate limit with no Redis to share it through fails here, before anything is consumed.
    await this.limits.start(this.app.tasks.names({ builtins: true }).map((name) => this.app.tasks.get(name)!));
    await this.pool.start();
    this.autoscaler?.start();
    const consumed: string[] = [];
    for (const q of this.queues) {
      const spec = this.app.conf.taskQueues?.find((s) => s.name === q);
      if (spec?.exchangeType === 'fanout') {
        // A broadcast queue (Celery's Broadcast): a queue of this worker's own, bound to the fanout exchange.
        const own = `bcast.${randomUUID()}`;
        await this.app.broker.declareQueue({ name: own, exchange: spec.exchange ?? spec.name, routingKey: '', exchangeType: 'fanout' });
        consumed.push(own);
        continue;
      }
      const isDefault = q === this.app.conf.taskDefaultQueue;
      await this.app.declareQueue(q, isDefault ? this.app.conf.taskDefaultExchange : q, isDefault ? this.app.conf.taskDefaultRoutingKey : q);
      consumed.push(q);
    }
    this.subscription = await this.app.broker.consume(consumed, (d) => this.onDelivery(d), {
      prefetch: this.prefetch,
      pauseWhenFull: this.disablePrefetch,
      onError: (err) => {
        this.app.logger.error({ err }, 'Consumer error');
        if (this.listenerCount('error')) this.emit('error', err);
      },
      onRecover: (event) => {
        const log = { queues: event.queues, downMs: event.downMs, kind: event.kind };
        if (event.kind === 'rebuilt') this.app.logger.warn(log, `Consumer rebuilt: ${event.message}`);
        else this.app.logger.info(log, `Consuming again: ${event.message}`);
      },
    });
    this.startEvents();
    if (this.options.remoteControl !== false) {
      this.mailbox = new WorkerMailbox(this.app.broker, this.control, this.app.logger);
      await this.mailbox.start();
    }
    this.startedAt = Date.now() / 1000;
    if (this.lifecycle === 'starting') {
      this.lifecycle = 'running';
      this.runningSinceMs = Date.now();
    }
    this.app.logger.info({ hostname: this.hostname, queues: this.queues, concurrency: this.concurrency }, `${this.hostname} ready.`);
    if (this.app.signals.has('workerReady')) this.app.signals.emit('workerReady', { worker: this });
  }

  /**
   * A delivery from the broker: refused (invalid, unknown, revoked, expired), deferred to the broker,
   * held until due (ETA, rate limit) or run. Not async: the common case hands back run()'s own promise
   * (every extra promise costs under AsyncLocalStorage's hooks); a throw becomes a rejection.
   */
  private onDelivery(delivery: Delivery): Promise<void> {
    try {
      const app = this.app;
      let message: TaskMessage;
      try {
        message = decodeTaskMessage(delivery.message, app.conf.acceptContent);
      } catch (err) {
        return this.refusals.rejectInvalid(delivery, err);
      }
      const task = app.tasks.get(message.task);
      if (!task) return this.refusals.rejectUnknown(delivery, message);
      if (this.revoked.has(message.id)) return this.refusals.revoke(delivery, message, 'revoked');
      if (message.expires && message.expires.getTime() <= Date.now()) return this.refusals.revoke(delivery, message, 'expired');
      if (app.logger.isLevelEnabled('info')) app.logger.info({ task: message.task, id: message.id }, `Task ${message.task}[${message.id}] received`);
      if (this.listenerCount('task-received')) this.emit('task-received', { id: message.id, name: message.task, message });
      const held: Held = { delivery, message, state: 'waiting', acked: false };
      this.held.add(held);
      const etaMs = message.eta ? message.eta.getTime() - Date.now() : 0;
      if (app.broker.publishDelayed && etaMs > this.due.etaHoldMs()) return this.due.deferToBroker(held, message, etaMs);
      // Rate-limited: wait for the task type's next slot, held like an ETA task (no pool slot taken).
      const pendingWait = this.due.limitWait(task, message);
      if (typeof pendingWait !== 'number') return pendingWait.then((wait) => this.runOrHold(held, message, task, wait));
      return this.runOrHold(held, message, task, pendingWait);
    } catch (err) {
      return Promise.reject(toError(err));
    }
  }

  /** Runs the task now, or holds it (reserved, unacked) until its ETA or rate-limit wait is over. */
  private runOrHold(held: Held, message: TaskMessage, task: AnyTask, limitWait: number): Promise<void> {
    const due = limitWait > 0 ? new Date(Date.now() + limitWait) : message.eta;
    if (due && due.getTime() > Date.now()) return this.due.holdUntilDue(held, message, task, due, limitWait);
    return this.run(held, message, task);
  }

  private async run(held: Held, message: TaskMessage, task: AnyTask): Promise<void> {
    const { delivery } = held;
    const app = this.app;
    if (!this.slots.tryAcquire() && !(await this.slots.acquire())) return; // shutting down: the message was given back
    if (this.stopping) {
      this.slots.release();
      return;
    }
    held.state = 'running';
    try {
      if (delivery.isStale?.()) {
        // The broker already gave it back (its channel died while it waited): it will run elsewhere.
        app.logger.info({ task: message.task, id: message.id }, `Task ${message.task}[${message.id}] not started: its message went back to the queue with a lost connection`);
        return;
      }
      if (this.revoked.has(message.id)) {
        await this.refusals.revoke(delivery, message, 'revoked');
        return;
      }
      if (message.expires && message.expires.getTime() <= Date.now()) {
        await this.refusals.revoke(delivery, message, 'expired');
        return;
      }
      const acksLate = task.options.acksLate ?? app.conf.taskAcksLate;
      if (acksLate && delivery.info.redelivered && app.conf.workerDeduplicateSuccessfulTasks && (await this.alreadySucceeded(message.id))) {
        // Ran to SUCCESS before its ack was lost (a killed worker, a lost connection): not again.
        app.logger.info({ task: message.task, id: message.id }, `Task ${message.task}[${message.id}] already succeeded: acked without running it again`);
        await delivery.ack();
        return;
      }
      if (!acksLate) {
        held.acked = true;
        // Not awaited: the ack travels in the next batch while the task runs (Celery acks as the pool
        // accepts the task; waiting for Redis here would add a round trip to every task).
        delivery.ack().catch((err: unknown) => app.logger.error({ err, task: message.task, id: message.id }, 'Ack failed; the message may be delivered again'));
      }
      if (this.listenerCount('task-started')) this.emit('task-started', { id: message.id, name: message.task });
      const outcome = await this.pool.run({ task, message, deliveryInfo: delivery.info });
      this.processed.set(message.task, (this.processed.get(message.task) ?? 0) + 1);
      switch (outcome.state) {
        case 'SUCCESS':
          if (app.logger.isLevelEnabled('info')) {
            app.logger.info({ task: message.task, id: message.id }, `Task ${message.task}[${message.id}] succeeded in ${(outcome.runtimeMs / 1000).toFixed(6)}s`);
          }
          if (this.listenerCount('task-succeeded')) this.emit('task-succeeded', { id: message.id, name: message.task, result: outcome.retval, runtimeMs: outcome.runtimeMs });
          if (acksLate) await delivery.ack();
          break;
        case 'RETRY':
          this.emit('task-retried', { id: message.id, name: message.task, error: outcome.error, eta: outcome.eta });
          if (acksLate) await delivery.ack();
          break;
        case 'FAILURE':
          this.emit('task-failed', { id: message.id, name: message.task, error: outcome.error });
          if (acksLate) {
            if (app.conf.taskAcksOnFailureOrTimeout) await delivery.ack();
            else await delivery.reject({ requeue: false });
          }
          break;
        case 'IGNORED':
          if (acksLate) await delivery.ack();
          break;
        case 'REVOKED':
          if (app.signals.has('taskRevoked')) {
            app.signals.emit('taskRevoked', { taskId: message.id, task, request: buildRequest(message, this.hostname, delivery.info, false), terminated: true, signum: null, expired: false });
          }
          this.emit('task-revoked', { id: message.id, name: message.task, expired: false, terminated: true });
          if (acksLate) await delivery.ack();
          break;
        case 'REJECTED':
          this.emit('task-rejected', { id: message.id, name: message.task, reason: String((outcome.error as Error).message), requeue: outcome.requeue });
          if (!held.acked) await delivery.reject({ requeue: outcome.requeue });
          break;
      }
    } finally {
      this.held.delete(held);
      this.slots.release();
      this.notifyIfIdle();
    }
  }

  /** True when the result backend holds SUCCESS for `id` (workerDeduplicateSuccessfulTasks). */
  private async alreadySucceeded(id: string): Promise<boolean> {
    const backend = this.app.backendOrNull();
    if (!backend) return false;
    try {
      return (await backend.getMeta(id))?.status === 'SUCCESS';
    } catch (err) {
      this.app.logger.warn({ err, id }, 'Could not read a stored state to deduplicate; running the task');
      return false;
    }
  }

  /** Celery events: heartbeats (unless heartbeat: false) and, when enabled, task events (events/worker-events.ts). */
  private startEvents(): void {
    const dispatcher = new EventDispatcher({ broker: this.app.broker, brokerUrl: this.app.conf.brokerUrl, hostname: this.hostname, logger: this.app.logger });
    const { heartbeat, heartbeatInterval } = this.options;
    this.events = new WorkerEvents(this, dispatcher, { heartbeat, heartbeatInterval, taskEvents: this.options.taskEvents ?? this.app.conf.workerSendTaskEvents });
    this.events.start();
  }

  // --- inspection, also answered by remote control (worker-control.ts) ---

  /** Revokes ids here, as remote `revoke` does: ETA-held ones at once, running ones only with `terminate`. */
  revoke(ids: string[], terminate: boolean, signal = 'SIGTERM'): Promise<void> {
    return this.control.revoke(ids, terminate, signal);
  }

  /** `--autoscale` bounds, when autoscaling. */
  get autoscaleRange(): { max: number; min: number } | undefined {
    return this.autoscaler && { max: this.autoscaler.max, min: this.autoscaler.min };
  }

  /** Stats' `pool` dict (kind, max-concurrency, child pids...). */
  poolStats(): Record<string, unknown> {
    return this.control.poolStats();
  }

  /** Tasks running now, as `inspect active` shows them. */
  activeRequests(): Array<Record<string, unknown>> {
    return this.control.activeRequests();
  }

  /** Tasks waiting for a slot, as `inspect reserved` shows them. */
  reservedRequests(): Array<Record<string, unknown>> {
    return this.control.reservedRequests();
  }

  /** ETA and rate-limited tasks held until due, as `inspect scheduled` shows them. */
  scheduledRequests(): Array<Record<string, unknown>> {
    return this.control.scheduledRequests();
  }

  /** Wakes whenIdle() callers once nothing is held. */
  private notifyIfIdle(): void {
    if (this.held.size === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when no task is held (running, waiting or ETA). */
  whenIdle(): Promise<void> {
    if (this.held.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops the worker. Warm (default): running tasks finish (up to shutdownTimeout s), the rest go
   * back to the queue. `{ graceful: false }`, or a second call, stops at once and gives back
   * everything not yet acknowledged.
   */
  close(options: { graceful?: boolean } = {}): Promise<void> {
    if (options.graceful === false || this.stopping) {
      this.cold = true;
      if (this.stopping) {
        void this.giveBack(true);
        return this.stopping;
      }
    }
    this.stopping = this.stop();
    return this.stopping;
  }

  private async stop(): Promise<void> {
    const app = this.app;
    this.lifecycle = 'stopping';
    await this.mailbox?.stop().catch((err: unknown) => app.logger.warn({ err }, 'Remote-control mailbox did not stop cleanly'));
    await this.subscription?.cancel();
    this.autoscaler?.stop();
    this.slots.cancelAll();
    await this.giveBack(false);
    if (!this.cold) {
      const timeoutMs = (this.options.shutdownTimeout ?? app.conf.workerShutdownTimeout) * 1000;
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        this.whenIdle().then(() => false),
        new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs))),
      ]);
      clearTimeout(timer);
      if (timedOut) app.logger.warn(`Warm shutdown timed out after ${timeoutMs / 1000}s; giving back unfinished tasks.`);
    }
    await this.giveBack(true);
    await this.events?.stop().catch((err: unknown) => app.logger.warn({ err }, 'Events did not stop cleanly'));
    // Warm: idle children close their apps; any still running (timed out) are killed, their messages given back above.
    await this.pool.close({ graceful: !this.cold }).catch((err: unknown) => app.logger.error({ err }, 'The pool did not close cleanly'));
    await this.revoked.save().catch((err: unknown) => app.logger.error({ err }, 'Could not write the revoked-tasks state file'));
    await this.limits.close().catch((err: unknown) => app.logger.warn({ err }, 'Could not close the global rate-limit connection'));
    this.lifecycle = 'stopped';
    app.logger.info(`${this.hostname} stopped.`);
    if (app.signals.has('workerShutdown')) app.signals.emit('workerShutdown', { worker: this });
  }

  /** Restores held messages: waiting/ETA ones always; running unacked ones when `includeRunning`. */
  private async giveBack(includeRunning: boolean): Promise<void> {
    const pending: Array<Promise<void>> = [];
    for (const held of [...this.held]) {
      if (held.state === 'running' && !includeRunning) continue;
      if (held.acked) continue;
      held.cancelEta?.();
      this.held.delete(held);
      pending.push(held.delivery.restore().catch((err: unknown) => this.app.logger.error({ err }, 'Could not give a message back to the queue')));
    }
    await Promise.all(pending);
    this.notifyIfIdle();
  }
}
