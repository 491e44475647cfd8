/**
 * Every error Celeriac throws. One root, one stable `code` per class, a `cause` when wrapping.
 *
 * ```text
 * CeleriacError
 * ├─ ConfigError          bad option or env var; names the key/variable and the nearest valid one
 * ├─ ProtocolError        DecodeError, EncodeError, ContentDisallowedError: message rejected, never dropped
 * ├─ BrokerError          BrokerConnectionError (recoverable: publish retries, consumers reconnect)
 * ├─ BackendError
 * └─ TaskError            NotRegisteredError, MaxRetriesExceededError, TaskRevokedError, ResultTimeoutError,
 *                         TimeLimitExceededError, SoftTimeLimitExceededError, WorkerLostError, ChordError,
 *                         RemoteTaskError (raised by the task, maybe in Python: excType, excModule, traceback)
 * Signals thrown inside a task, not failures: Retry, Ignore, Reject
 * ```
 */

export type CeleriacErrorCode =
  | 'CELERIAC_CONFIG'
  | 'CELERIAC_PROTOCOL'
  | 'CELERIAC_DECODE'
  | 'CELERIAC_ENCODE'
  | 'CELERIAC_CONTENT_DISALLOWED'
  | 'CELERIAC_BROKER'
  | 'CELERIAC_BROKER_CONNECTION'
  | 'CELERIAC_BACKEND'
  | 'CELERIAC_TASK'
  | 'CELERIAC_NOT_REGISTERED'
  | 'CELERIAC_MAX_RETRIES_EXCEEDED'
  | 'CELERIAC_TASK_REVOKED'
  | 'CELERIAC_RESULT_TIMEOUT'
  | 'CELERIAC_TIME_LIMIT_EXCEEDED'
  | 'CELERIAC_SOFT_TIME_LIMIT_EXCEEDED'
  | 'CELERIAC_WORKER_LOST'
  | 'CELERIAC_CHORD'
  | 'CELERIAC_REMOTE_TASK';

/** Root of every error Celeriac throws. `code` is stable and documented in docs/errors.md. */
export class CeleriacError extends Error {
  constructor(
    readonly code: CeleriacErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** A setting or environment variable is unknown or has a bad value. */
export class ConfigError extends CeleriacError {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super('CELERIAC_CONFIG', message);
  }
}

/** A message could not be encoded or decoded. The message is rejected (dead-lettered), never dropped. */
export class ProtocolError extends CeleriacError {
  constructor(
    message: string,
    options?: { cause?: unknown; code?: CeleriacErrorCode },
  ) {
    super(options?.code ?? 'CELERIAC_PROTOCOL', message, options);
  }
}

/** An incoming message is malformed: bad envelope, body, dates or headers. */
export class DecodeError extends ProtocolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'CELERIAC_DECODE' });
  }
}

/** An outgoing value cannot be serialized with the chosen serializer. */
export class EncodeError extends ProtocolError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'CELERIAC_ENCODE' });
  }
}

/** The content type is not in `acceptContent` (pickle never is). */
export class ContentDisallowedError extends ProtocolError {
  constructor(readonly contentType: string) {
    super(
      `Refusing to decode content type "${contentType}": it is not in acceptContent. ` +
        'Add its serializer name to acceptContent if the sender is trusted (pickle is never accepted).',
      { code: 'CELERIAC_CONTENT_DISALLOWED' },
    );
  }
}

/** A broker operation failed. */
export class BrokerError extends CeleriacError {
  constructor(message: string, options?: { cause?: unknown; code?: CeleriacErrorCode }) {
    super(options?.code ?? 'CELERIAC_BROKER', message, options);
  }
}

/** The broker is unreachable or the connection dropped; publishing retries per `retryPolicy`. */
export class BrokerConnectionError extends BrokerError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'CELERIAC_BROKER_CONNECTION' });
  }
}

/** A result backend operation failed. */
export class BackendError extends CeleriacError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('CELERIAC_BACKEND', message, options);
  }
}

/** Base of errors about a task's execution or its result. */
export class TaskError extends CeleriacError {}

/** The worker received a task name it does not know. */
export class NotRegisteredError extends TaskError {
  constructor(readonly taskName: string) {
    super(
      'CELERIAC_NOT_REGISTERED',
      `Task "${taskName}" is not registered on this worker. ` +
        'Import the module that defines it, or check the name the producer used.',
    );
  }
}

/** `retry()` was called after `maxRetries` retries. */
export class MaxRetriesExceededError extends TaskError {
  constructor(
    readonly taskName: string,
    readonly taskId: string,
    readonly maxRetries: number,
  ) {
    super(
      'CELERIAC_MAX_RETRIES_EXCEEDED',
      `Can't retry ${taskName}[${taskId}]: max retries (${maxRetries}) exceeded.`,
    );
  }
}

/** The task was revoked or expired before it ran. */
export class TaskRevokedError extends TaskError {
  constructor(readonly reason: string) {
    super('CELERIAC_TASK_REVOKED', reason);
  }
}

/** `AsyncResult.get()` gave up waiting. */
export class ResultTimeoutError extends TaskError {
  constructor(
    readonly taskId: string,
    readonly timeoutMs: number,
  ) {
    super(
      'CELERIAC_RESULT_TIMEOUT',
      `Result of task ${taskId} not ready after ${timeoutMs} ms. ` +
        'Is a worker consuming its queue? Raise the timeout for slow tasks.',
    );
  }
}

/** The task ran past its hard time limit. */
export class TimeLimitExceededError extends TaskError {
  constructor(readonly seconds: number) {
    super('CELERIAC_TIME_LIMIT_EXCEEDED', `TimeLimitExceeded(${seconds})`);
  }
}

/** The task ran past its soft time limit; raised where the task awaits. */
export class SoftTimeLimitExceededError extends TaskError {
  constructor(readonly seconds: number) {
    super('CELERIAC_SOFT_TIME_LIMIT_EXCEEDED', `SoftTimeLimitExceeded(${seconds})`);
  }
}

/** The worker running the task died. */
export class WorkerLostError extends TaskError {
  constructor(message: string) {
    super('CELERIAC_WORKER_LOST', message);
  }
}

/** A chord header member failed, so the body cannot run. */
export class ChordError extends TaskError {
  constructor(message: string) {
    super('CELERIAC_CHORD', message);
  }
}

/**
 * A task failed, here or in Python. `excType`/`excModule`/`excMessage` are Celery's exception fields,
 * so a `ValueError` raised by a Python task arrives as `excType === 'ValueError'`.
 */
export class RemoteTaskError extends TaskError {
  constructor(
    readonly excType: string,
    readonly excMessage: unknown[],
    readonly excModule: string | null,
    readonly traceback: string | null,
    readonly taskId?: string,
  ) {
    super('CELERIAC_REMOTE_TASK', `${excType}: ${excMessage.map(describeArg).join(', ')}`);
  }
}

function describeArg(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'bigint') return value.toString();
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}

/** Thrown by `ctx.retry()`: not a failure, the task is re-published. */
export class Retry extends Error {
  constructor(
    readonly reason: unknown,
    readonly when: Date | null,
    message?: string,
  ) {
    super(message ?? `Retry in ${when ? Math.max(0, Math.round((when.getTime() - Date.now()) / 1000)) : 0}s`);
    this.name = 'Retry';
  }
}

/** Thrown inside a task to stop without storing a result (Celery's `Ignore`). */
export class Ignore extends Error {
  constructor(message = 'Task ignored') {
    super(message);
    this.name = 'Ignore';
  }
}

/** Thrown inside a task to reject its message, optionally requeueing it (Celery's `Reject`). */
export class Reject extends Error {
  constructor(
    readonly reason: unknown = 'rejected',
    readonly requeue = false,
  ) {
    super(String(reason));
    this.name = 'Reject';
  }
}

/** Wraps anything thrown into an Error, keeping its stack when it has one. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  const err = new Error(typeof thrown === 'string' ? thrown : JSON.stringify(thrown));
  err.name = 'NonErrorThrown';
  return err;
}
