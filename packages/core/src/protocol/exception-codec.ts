/**
 * Exceptions in results: `{exc_type, exc_message: [...], exc_module}` (celery/backends/base.py
 * `prepare_exception`). What we write must be safe for Python to rebuild (Gotcha 10): builtins with a
 * real Python builtin name, celery.exceptions for Celery's own, else our class name under module "node".
 */
import {
  ChordError,
  MaxRetriesExceededError,
  NotRegisteredError,
  RemoteTaskError,
  SoftTimeLimitExceededError,
  TaskRevokedError,
  TimeLimitExceededError,
  WorkerLostError,
} from '../errors';

export interface ExceptionDict {
  exc_type: string;
  exc_message: unknown[];
  exc_module: string | null;
}

/** Module name we use for JS error classes that have no Python counterpart. */
export const NODE_EXC_MODULE = 'node';

const PY_BUILTIN_FOR_JS: Record<string, string> = {
  Error: 'Exception',
  TypeError: 'TypeError',
  RangeError: 'ValueError',
  SyntaxError: 'SyntaxError',
  ReferenceError: 'NameError',
  EvalError: 'RuntimeError',
  URIError: 'ValueError',
  AggregateError: 'Exception',
};

/** An error may name its Python twin: `class CardDeclined extends Error { excType = 'CardDeclined'; excModule = 'billing.errors' }`. */
interface PythonNamed {
  excType?: unknown;
  excModule?: unknown;
  excMessage?: unknown;
}

/** Serializes a thrown error into Celery's exception dict. */
export function toExceptionDict(error: unknown): ExceptionDict {
  if (error instanceof RemoteTaskError) return { exc_type: error.excType, exc_message: error.excMessage, exc_module: error.excModule };
  if (error instanceof NotRegisteredError) return { exc_type: 'NotRegistered', exc_message: [error.taskName], exc_module: 'celery.exceptions' };
  if (error instanceof TaskRevokedError) return { exc_type: 'TaskRevokedError', exc_message: [error.reason], exc_module: 'celery.exceptions' };
  if (error instanceof TimeLimitExceededError) return { exc_type: 'TimeLimitExceeded', exc_message: [error.seconds], exc_module: 'celery.exceptions' };
  if (error instanceof SoftTimeLimitExceededError) return { exc_type: 'SoftTimeLimitExceeded', exc_message: [error.seconds], exc_module: 'celery.exceptions' };
  if (error instanceof WorkerLostError) return { exc_type: 'WorkerLostError', exc_message: [error.message], exc_module: 'celery.exceptions' };
  if (error instanceof MaxRetriesExceededError) return { exc_type: 'MaxRetriesExceededError', exc_message: [error.message], exc_module: 'celery.exceptions' };
  if (error instanceof ChordError) return { exc_type: 'ChordError', exc_message: [error.message], exc_module: 'celery.exceptions' };
  if (error instanceof Error) {
    const named = error as Error & PythonNamed;
    const message = Array.isArray(named.excMessage) ? (named.excMessage as unknown[]) : [error.message];
    if (typeof named.excType === 'string') {
      return { exc_type: named.excType, exc_message: message, exc_module: typeof named.excModule === 'string' ? named.excModule : NODE_EXC_MODULE };
    }
    const ctorName = error.constructor?.name || error.name || 'Error';
    const builtin = PY_BUILTIN_FOR_JS[ctorName];
    if (builtin) return { exc_type: builtin, exc_message: message, exc_module: 'builtins' };
    return { exc_type: ctorName, exc_message: message, exc_module: NODE_EXC_MODULE };
  }
  return { exc_type: 'Exception', exc_message: [typeof error === 'string' ? error : JSON.stringify(error) ?? String(error)], exc_module: 'builtins' };
}

/** True when a stored result looks like an exception dict. */
export function isExceptionDict(value: unknown): value is ExceptionDict {
  return !!value && typeof value === 'object' && typeof (value as Record<string, unknown>).exc_type === 'string';
}

/** Rebuilds an error from a stored exception dict (from Python or from us). */
export function fromExceptionDict(value: unknown, traceback: string | null, taskId?: string): RemoteTaskError {
  if (!isExceptionDict(value)) {
    return new RemoteTaskError('Exception', [value], null, traceback, taskId);
  }
  const message = Array.isArray(value.exc_message) ? value.exc_message : [value.exc_message];
  const err = new RemoteTaskError(value.exc_type, message, value.exc_module ?? null, traceback, taskId);
  if (traceback) err.stack = `${err.name}: ${err.message}\n${traceback}`;
  return err;
}
