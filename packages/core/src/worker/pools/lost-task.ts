/**
 * A task whose thread or process did not report back: killed at its hard time limit, killed by a
 * revoke with terminate, or dead on its own (crash, OOM, process.exit). The worker's side stores the
 * state the child could not, runs the canvas failure follow-ups, and returns the Outcome.
 */
import type { Celeriac } from '../../app/celeriac';
import { hasWorkflow } from '../../canvas/workflow';
import { TaskRevokedError, TimeLimitExceededError, WorkerLostError } from '../../errors';
import { toExceptionDict } from '../../protocol/exception-codec';
import { FAILURE, REJECTED, REVOKED } from '../../result/states';
import type { Executor, Outcome } from '../executor';
import { buildRequest } from '../request';
import type { PoolJob } from './pool';

export type LostReason =
  | { kind: 'time-limit'; seconds: number }
  | { kind: 'terminated' }
  /** The child died by itself; `exit` reads like Celery's "signal 9 (SIGKILL)" or "exitcode 1". */
  | { kind: 'died'; exit: string }
  /** Killed by a cold shutdown: the worker already gave its message back. */
  | { kind: 'shutdown' };

export interface LostTaskHost {
  readonly app: Celeriac;
  readonly executor: Executor;
  readonly hostname: string;
}

export async function settleLostTask(host: LostTaskHost, job: PoolJob, reason: LostReason, runtimeMs: number): Promise<Outcome> {
  const { app, executor } = host;
  const { task, message, deliveryInfo } = job;
  const where = `${message.task}[${message.id}]`;
  if (reason.kind === 'shutdown') {
    return { state: REJECTED, requeue: true, error: new WorkerLostError('Worker shut down while the task ran.'), runtimeMs };
  }
  let state: typeof FAILURE | typeof REVOKED = FAILURE;
  let error: Error;
  if (reason.kind === 'time-limit') {
    error = new TimeLimitExceededError(reason.seconds);
    app.logger.error({ task: message.task, id: message.id }, `Hard time limit (${reason.seconds}s) exceeded for ${where}: its thread/process was killed and is replaced.`);
  } else if (reason.kind === 'terminated') {
    state = REVOKED;
    error = new TaskRevokedError('terminated');
    app.logger.warn({ task: message.task, id: message.id }, `Task ${where} terminated (revoked): its thread/process was killed and is replaced.`);
  } else {
    error = new WorkerLostError(`Worker exited prematurely: ${reason.exit}.`);
    const acksLate = task.options.acksLate ?? app.conf.taskAcksLate;
    const requeue = acksLate && (task.options.rejectOnWorkerLost ?? app.conf.taskRejectOnWorkerLost);
    app.logger.error({ task: message.task, id: message.id }, `Task ${where} lost: ${error.message}${requeue ? ' Requeued (rejectOnWorkerLost).' : ''}`);
    if (requeue) return { state: REJECTED, requeue: true, error, runtimeMs };
  }
  const ignoreResult = message.ignoreResult || (task.options.ignoreResult ?? app.conf.taskIgnoreResult);
  await executor
    .store(executor.meta(message, state, toExceptionDict(error), error.stack ?? null, deliveryInfo), ignoreResult && !app.conf.taskStoreErrorsEvenIfIgnored)
    .catch((err: unknown) => app.logger.error({ err, id: message.id }, `Could not store the ${state} state of ${where}`));
  if (hasWorkflow(message)) {
    await app
      .workflow()
      .afterFailure(message, buildRequest(message, host.hostname, deliveryInfo, false), error, null, state)
      .catch((err: unknown) => app.logger.error({ err, id: message.id }, `Could not run the failure follow-ups of ${where}`));
  }
  if (state === REVOKED) return { state, error: error as TaskRevokedError, runtimeMs };
  return { state, error, runtimeMs, expected: false };
}
