/**
 * What a worker does with a message it will not run: an unreadable one (rejected, FAILURE stored
 * when its id is readable), an unknown task (NotRegistered FAILURE, rejected), a revoked or expired
 * one (REVOKED, acked). Each still fails its chord or chain, so nothing waits for it forever, and is
 * reported through the worker's events and the app's signals.
 */
import type { Celeriac } from '../app/celeriac';
import type { Delivery } from '../brokers/broker';
import { hasWorkflow } from '../canvas/workflow';
import { NotRegisteredError, TaskRevokedError, toError } from '../errors';
import { toExceptionDict } from '../protocol/exception-codec';
import type { TaskMessage } from '../protocol/message-v2';
import { dateDoneNow } from '../protocol/result-meta';
import { FAILURE, REVOKED } from '../result/states';
import type { Executor } from './executor';
import { buildRequest } from './request';
import type { WorkerEventMap } from './worker-options';

/** The worker as its refusals see it. */
export interface RefusalHost {
  readonly app: Celeriac;
  readonly hostname: string;
  emit<K extends keyof WorkerEventMap>(event: K, ...args: WorkerEventMap[K]): boolean;
}

export class Refusals {
  constructor(
    private readonly host: RefusalHost,
    private readonly executor: Executor,
  ) {}

  /** A message that cannot be decoded (or is not accepted): logged with the reason, rejected without requeue. */
  async rejectInvalid(delivery: Delivery, err: unknown): Promise<void> {
    const app = this.host.app;
    const headers = delivery.message.headers ?? {};
    const id = typeof headers.id === 'string' ? headers.id : null;
    const name = typeof headers.task === 'string' ? headers.task : null;
    const error = toError(err);
    app.logger.error(
      { err: error, id, task: name, contentType: delivery.message.contentType, queue: delivery.info.queue, deliveryTag: delivery.info.deliveryTag },
      `Rejecting invalid message${id ? ` ${name}[${id}]` : ''} from queue "${delivery.info.queue}": ${error.message}`,
    );
    if (id) {
      await app
        .backendOrNull()
        ?.storeResult({
          taskId: id,
          status: FAILURE,
          result: toExceptionDict(error),
          traceback: error.stack ?? null,
          children: [],
          dateDone: dateDoneNow(),
          replyTo: delivery.message.properties.replyTo ?? null,
          correlationId: delivery.message.properties.correlationId ?? id,
        })
        .catch((e: unknown) => app.logger.error({ err: e }, 'Could not store the failure of an invalid message'));
    }
    await delivery.reject({ requeue: false });
    if (app.signals.has('taskRejected')) app.signals.emit('taskRejected', { message: delivery.message, exc: error });
    this.host.emit('task-rejected', { id, name, reason: error.message, requeue: false });
  }

  /** A task this worker does not know: Celery's NotRegistered FAILURE, rejected without requeue. */
  async rejectUnknown(delivery: Delivery, message: TaskMessage): Promise<void> {
    const app = this.host.app;
    const error = new NotRegisteredError(message.task);
    app.logger.error({ task: message.task, id: message.id }, `Received unregistered task of type "${message.task}". The message has been rejected. ${error.message}`);
    await this.executor.store({ ...this.executor.meta(message, FAILURE, toExceptionDict(error), null, delivery.info), traceback: null }, false).catch((e: unknown) => app.logger.error({ err: e }, 'Could not store NotRegistered failure'));
    await this.failFollowUps(message, delivery, error, FAILURE);
    await delivery.reject({ requeue: false });
    if (app.signals.has('taskUnknown')) app.signals.emit('taskUnknown', { name: message.task, id: message.id, message: delivery.message, exc: error });
    this.host.emit('task-rejected', { id: message.id, name: message.task, reason: 'not registered', requeue: false });
    this.host.emit('task-failed', { id: message.id, name: message.task, error });
  }

  /** Stores REVOKED for a message that will not run (revoked or expired), acks it, fails its chord/chain. */
  async revoke(delivery: Delivery, message: TaskMessage, reason: 'expired' | 'revoked'): Promise<void> {
    const app = this.host.app;
    app.logger.warn({ task: message.task, id: message.id }, `Skipping revoked task: ${message.task}[${message.id}] (${reason})`);
    const task = app.tasks.get(message.task);
    const ignore = message.ignoreResult || (task?.options.ignoreResult ?? app.conf.taskIgnoreResult);
    const error = new TaskRevokedError(reason);
    await this.executor.store(this.executor.meta(message, REVOKED, toExceptionDict(error), null, delivery.info), ignore && !app.conf.taskStoreErrorsEvenIfIgnored);
    await this.failFollowUps(message, delivery, error, REVOKED);
    await delivery.ack();
    if (app.signals.has('taskRevoked')) {
      app.signals.emit('taskRevoked', { taskId: message.id, task, request: buildRequest(message, this.host.hostname, delivery.info, false), terminated: false, signum: null, expired: reason === 'expired' });
    }
    this.host.emit('task-revoked', { id: message.id, name: message.task, expired: reason === 'expired' });
  }

  /** A task that will not run still reports to its chord and fails its chain, so nothing waits forever. */
  private async failFollowUps(message: TaskMessage, delivery: Delivery, error: Error, state: string): Promise<void> {
    if (!hasWorkflow(message)) return;
    await this.host.app
      .workflow()
      .afterFailure(message, buildRequest(message, this.host.hostname, delivery.info, false), error, null, state)
      .catch((err: unknown) => this.host.app.logger.error({ err, id: message.id }, `Could not run the failure follow-ups of ${message.task}[${message.id}]`));
  }
}
