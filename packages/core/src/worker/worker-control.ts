/**
 * The worker as remote control sees it (the ControlTarget of control/worker-mailbox.ts): what
 * inspect reads (active, reserved, scheduled, revoked, registered, stats' pool) and what control
 * commands change (revoke, rate_limit, enable/disable_events, heartbeat, shutdown). Built by the
 * Worker over a narrow view of its parts, so worker.ts keeps only start, intake, run and stop.
 */
import type { Celeriac } from '../app/celeriac';
import type { Delivery } from '../brokers/broker';
import type { ControlTarget } from '../control/worker-mailbox';
import type { WorkerEvents } from '../events/worker-events';
import { formatWireDate } from '../protocol/dates';
import type { TaskMessage } from '../protocol/message-v2';
import type { Pool } from './pools/pool';
import { parseRateLimit, type RateLimiter } from './rate-limit';
import type { Refusals } from './refusals';
import type { RevokedTasks } from './revoked-tasks';

/** The worker's public side, read when a command arrives (startedAt changes at start). */
export interface ControlHost extends Pick<ControlTarget, 'hostname' | 'queues' | 'concurrency' | 'prefetch' | 'startedAt' | 'processed'> {
  readonly app: Celeriac;
  readonly pool: Pool;
  readonly revoked: RevokedTasks;
  readonly rateLimiter: RateLimiter;
  close(): Promise<void>;
}

/** A message the worker holds, as inspect and revoke see it. */
export interface HeldRequest {
  readonly delivery: Delivery;
  readonly message: TaskMessage;
  readonly state: 'eta' | 'waiting' | 'running';
  readonly acked: boolean;
  readonly cancelEta?: () => void;
}

/** The worker's private parts that remote control acts on. */
export interface ControlParts {
  /** The messages held now; revoke drops ETA-held ones from it. */
  readonly held: Set<HeldRequest>;
  readonly refusals: Refusals;
  /** The worker's events, once started. */
  events(): WorkerEvents | undefined;
  /** Wakes whenIdle() callers once nothing is held. */
  notifyIfIdle(): void;
}

export class WorkerControl implements ControlTarget {
  constructor(
    private readonly host: ControlHost,
    private readonly parts: ControlParts,
  ) {}

  get hostname(): string {
    return this.host.hostname;
  }

  get queues(): readonly string[] {
    return this.host.queues;
  }

  get concurrency(): number {
    return this.host.concurrency;
  }

  get prefetch(): number {
    return this.host.prefetch;
  }

  get startedAt(): number {
    return this.host.startedAt;
  }

  get processed(): ReadonlyMap<string, number> {
    return this.host.processed;
  }

  /** Remote `enable_events`: false when task events were on already. */
  enableEvents(): boolean {
    return this.parts.events()?.enableTaskEvents() ?? false;
  }

  /** Remote `disable_events`: false when task events were off already. */
  disableEvents(): boolean {
    return this.parts.events()?.disableTaskEvents() ?? false;
  }

  /** Remote `heartbeat`: a worker-heartbeat event now. */
  sendHeartbeat(): void {
    this.parts.events()?.heartbeatNow();
  }

  /**
   * Revokes ids here: ETA-held ones are dropped at once (REVOKED), ones waiting for a slot when they
   * would start, running ones only with `terminate`.
   */
  async revoke(ids: string[], terminate: boolean, _signal = 'SIGTERM'): Promise<void> {
    const { held: heldSet, refusals } = this.parts;
    this.host.revoked.add(ids);
    const wanted = new Set(ids);
    for (const held of [...heldSet]) {
      if (!wanted.has(held.message.id)) continue;
      if (held.state === 'running') {
        if (terminate) this.host.pool.terminate(held.message.id);
        continue;
      }
      if (held.state !== 'eta') continue;
      held.cancelEta?.();
      heldSet.delete(held);
      await refusals.revoke(held.delivery, held.message, 'revoked').catch((err: unknown) => this.host.app.logger.error({ err, id: held.message.id }, 'Could not revoke a held task'));
    }
    this.parts.notifyIfIdle();
  }

  setRateLimit(task: string, rateLimit: unknown): void {
    this.host.rateLimiter.setRate(task, parseRateLimit(rateLimit, `rate limit of ${task}`));
  }

  revokedEntries(): Array<[string, number]> {
    return this.host.revoked.entries();
  }

  poolStats(): Record<string, unknown> {
    return this.host.pool.stats();
  }

  registeredTasks(): string[] {
    return this.host.app.tasks.names();
  }

  activeRequests(): Array<Record<string, unknown>> {
    return [...this.parts.held].filter((h) => h.state === 'running').map((h) => this.requestInfo(h, this.host.pool.startedAt(h.message.id)));
  }

  reservedRequests(): Array<Record<string, unknown>> {
    return [...this.parts.held].filter((h) => h.state === 'waiting').map((h) => this.requestInfo(h, null));
  }

  scheduledRequests(): Array<Record<string, unknown>> {
    return [...this.parts.held]
      .filter((h) => h.state === 'eta')
      .map((h) => ({ eta: h.message.eta ? formatWireDate(h.message.eta) : null, priority: h.message.priority, request: this.requestInfo(h, null) }));
  }

  /** Remote `shutdown`: a warm stop. */
  shutdown(): void {
    void this.host.close();
  }

  /** One request as Celery's inspect shows it (celery/worker/request.py, Request.info). */
  private requestInfo({ message, delivery, acked }: HeldRequest, startedAt: number | null): Record<string, unknown> {
    return {
      id: message.id,
      name: message.task,
      args: message.args,
      kwargs: message.kwargs,
      type: message.task,
      hostname: this.host.hostname,
      time_start: startedAt,
      acknowledged: acked,
      delivery_info: { exchange: delivery.info.exchange, routing_key: delivery.info.routingKey, priority: delivery.info.priority, redelivered: delivery.info.redelivered },
      worker_pid: this.host.pool.pidOf(message.id) ?? process.pid,
    };
  }
}
