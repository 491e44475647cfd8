/**
 * A worker's end of remote control (Kombu's pidbox Node + Celery's control commands): it consumes
 * `<nodename>.celery.pidbox`, bound to the fanout exchange `celery.pidbox`, acts on the commands
 * addressed to it and replies when asked. Commands: ping, revoke, active, reserved, scheduled,
 * revoked, registered, stats, active_queues, hello (mingle), heartbeat, enable_events, disable_events,
 * shutdown. Anything else gets
 * `{ error }` (when a reply was requested), as Celery answers an unknown command.
 */
import type { Broker, Delivery, Subscription } from '../brokers/broker';
import type { Logger } from '../logging/logger';
import { MAILBOX_QUEUE, PIDBOX_EXCHANGE, decodeControlRequest, encodeControlReply, isForNode, workerMailboxQueue, type ControlRequest } from './pidbox';

/** What the commands read from and act on: implemented by WorkerControl (worker/worker-control.ts). */
export interface ControlTarget {
  readonly hostname: string;
  readonly queues: readonly string[];
  readonly concurrency: number;
  readonly prefetch: number;
  readonly startedAt: number;
  readonly processed: ReadonlyMap<string, number>;
  registeredTasks(): string[];
  /** Changes a task type's rate limit here ('10/s', '100/m', '1000/h', a number per second, or 0/'' for none). */
  setRateLimit(task: string, rateLimit: unknown): void;
  revoke(ids: string[], terminate: boolean, signal: string): Promise<void>;
  revokedEntries(): Array<[string, number]>;
  activeRequests(): Array<Record<string, unknown>>;
  reservedRequests(): Array<Record<string, unknown>>;
  scheduledRequests(): Array<Record<string, unknown>>;
  shutdown(): void;
  /** Task events on (remote `enable_events`); false when they were on already. */
  enableEvents?(): boolean;
  /** Task events off (remote `disable_events`); false when they were off already. */
  disableEvents?(): boolean;
  /** A worker-heartbeat event now (remote `heartbeat`). */
  sendHeartbeat?(): void;
  /** Stats' `pool` dict (kind, max-concurrency, child pids...). */
  poolStats?(): Record<string, unknown>;
}

type Handler = (args: Record<string, unknown>) => unknown;

/** Python's mingle rejects integer timestamps: keep a fraction on every one (Gotcha 17). */
const asFloat = (ts: number): number => (Number.isInteger(ts) ? ts + 1e-6 : ts);

export class WorkerMailbox {
  private subscription: Subscription | undefined;
  private clock = 0;
  private readonly handlers: Record<string, Handler>;

  constructor(
    private readonly broker: Broker,
    private readonly target: ControlTarget,
    private readonly logger: Logger,
  ) {
    const t = target;
    this.handlers = {
      ping: () => ({ ok: 'pong' }),
      revoke: async (args) => {
        const raw = args.task_id;
        const ids = (Array.isArray(raw) ? raw : [raw]).filter((x): x is string => typeof x === 'string' && x !== '');
        await t.revoke(ids, args.terminate === true, typeof args.signal === 'string' ? args.signal : 'SIGTERM');
        return { ok: `tasks ${ids.join(', ')} flagged as revoked` };
      },
      rate_limit: (args) => {
        const name = typeof args.task_name === 'string' ? args.task_name : '';
        if (!t.registeredTasks().includes(name)) return { error: `unknown task ${JSON.stringify(name)}` };
        t.setRateLimit(name, args.rate_limit);
        return { ok: 'new rate limit set successfully' };
      },
      active: () => t.activeRequests(),
      reserved: () => t.reservedRequests(),
      scheduled: () => t.scheduledRequests(),
      revoked: () => t.revokedEntries().map(([id]) => id),
      registered: () => t.registeredTasks(),
      stats: () => ({
        total: Object.fromEntries(t.processed),
        pid: process.pid,
        clock: String(this.clock),
        uptime: Math.round(Date.now() / 1000 - t.startedAt),
        pool: t.poolStats?.() ?? { 'max-concurrency': t.concurrency, implementation: 'celeriac:async', processes: [process.pid] },
        prefetch_count: t.prefetch,
        sw_ident: 'celeriac',
      }),
      active_queues: () => t.queues.map((name) => ({ name, exchange: { name, type: 'direct' }, routing_key: name, durable: true, exclusive: false, auto_delete: false, no_ack: false })),
      hello: (args) => (args.from_node === t.hostname ? undefined : { revoked: Object.fromEntries(t.revokedEntries().map(([id, at]) => [id, asFloat(at)])), clock: this.clock }),
      heartbeat: () => {
        t.sendHeartbeat?.();
        return undefined;
      },
      enable_events: () => (t.enableEvents ? { ok: t.enableEvents() ? 'task events enabled' : 'task events already enabled' } : { error: 'events not supported' }),
      disable_events: () => (t.disableEvents ? { ok: t.disableEvents() ? 'task events disabled' : 'task events already disabled' } : { error: 'events not supported' }),
      shutdown: () => {
        this.logger.warn(`${t.hostname}: shutdown requested by remote control`);
        setImmediate(() => t.shutdown());
        return undefined;
      },
    };
  }

  /** Declares the mailbox queue and starts answering. */
  async start(): Promise<void> {
    const queue = workerMailboxQueue(this.target.hostname);
    await this.broker.declareExchange(PIDBOX_EXCHANGE, 'fanout', { durable: false });
    await this.broker.declareQueue({ name: queue, exchange: PIDBOX_EXCHANGE, routingKey: '', exchangeType: 'fanout', ...MAILBOX_QUEUE });
    this.subscription = await this.broker.consume([queue], (d) => this.onMessage(d), {
      prefetch: 10,
      onError: (err) => this.logger.error({ err }, 'Remote-control consumer error'),
      onRecover: (event) => this.logger.info({ queues: event.queues, kind: event.kind }, `Remote control consuming again: ${event.message}`),
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.cancel();
    this.subscription = undefined;
    // Kombu removes a stopped node's binding too; on AMQP the auto-delete queue goes by itself.
    await this.broker.deleteQueue?.({ name: workerMailboxQueue(this.target.hostname), exchange: PIDBOX_EXCHANGE, routingKey: '', exchangeType: 'fanout' });
  }

  private async onMessage(delivery: Delivery): Promise<void> {
    await delivery.ack();
    let request: ControlRequest;
    try {
      request = decodeControlRequest(delivery.message);
    } catch (err) {
      this.logger.warn({ err }, 'Ignoring an unreadable remote-control message');
      return;
    }
    const clock = delivery.message.headers?.clock;
    if (typeof clock === 'number' && clock > this.clock) this.clock = clock;
    this.clock++;
    if (!isForNode(request, this.target.hostname)) return;
    const handler = Object.prototype.hasOwnProperty.call(this.handlers, request.method) ? this.handlers[request.method] : undefined;
    let value: unknown;
    try {
      if (!handler) throw new Error(`No such control command: ${request.method}`);
      this.logger.debug({ method: request.method }, `Remote control: ${request.method}`);
      value = await handler(request.arguments);
    } catch (err) {
      value = { error: `${(err as Error).name}(${JSON.stringify((err as Error).message)})` };
      this.logger.warn({ err, method: request.method }, `Remote-control command ${request.method} failed`);
    }
    if (!request.ticket || !request.reply_to || value === undefined) return;
    try {
      await this.broker.publish(encodeControlReply(this.target.hostname, value, request.ticket, this.clock), { exchange: request.reply_to.exchange, routingKey: request.reply_to.routing_key });
    } catch (err) {
      // The requester stopped waiting (its reply queue is gone): nothing to do.
      this.logger.debug({ err }, 'Remote-control reply not delivered');
    }
  }
}
