/** Options of a task definition (Celery's Task attributes) and of one call (apply_async options). */
import type { RetryPolicy } from '../app/settings';
import type { AnySignature } from '../canvas/signature';
import type { TaskContext } from './task-context';

/** An error class or a predicate deciding whether a thrown error matches. */
export type ErrorMatcher = (new (...args: never[]) => Error) | ((error: unknown) => boolean);

export interface TaskHandlers<TResult = unknown> {
  /** Before the task function runs. */
  beforeStart?: (ctx: TaskContext) => void | Promise<void>;
  onSuccess?: (retval: TResult, ctx: TaskContext) => void | Promise<void>;
  onFailure?: (error: unknown, ctx: TaskContext) => void | Promise<void>;
  onRetry?: (error: unknown, ctx: TaskContext) => void | Promise<void>;
  /** After the result was stored, whatever the state. */
  afterReturn?: (state: string, retval: unknown, ctx: TaskContext) => void | Promise<void>;
}

export interface TaskOptions<TResult = unknown> extends TaskHandlers<TResult> {
  /**
   * Parameter names, in order, so kwargs (e.g. from a Python client) reach the function by name.
   * Inferred from the function's source when omitted (not reliable after minification).
   */
  params?: ReadonlyArray<string | null>;
  /** @defaultValue 3; null retries forever. */
  maxRetries?: number | null;
  /** Seconds before a retry when `retry()` gives no countdown. @defaultValue 180 */
  defaultRetryDelay?: number;
  /** Errors that retry the task automatically. */
  autoretryFor?: readonly ErrorMatcher[];
  /** Errors that never auto-retry, even when autoretryFor matches. */
  dontAutoretryFor?: readonly ErrorMatcher[];
  /** Exponential backoff for autoretry: true (factor 1 s) or the factor in seconds. @defaultValue false */
  retryBackoff?: boolean | number;
  /** Backoff cap in seconds. @defaultValue 600 */
  retryBackoffMax?: number;
  /** Full jitter on backoff delays. @defaultValue true */
  retryJitter?: boolean;
  /** Expected errors: FAILURE stored, logged without a traceback at info level. */
  throws?: readonly ErrorMatcher[];
  ignoreResult?: boolean;
  trackStarted?: boolean;
  acksLate?: boolean;
  rejectOnWorkerLost?: boolean;
  /** At most this many per worker: '10/s', '100/m', '1000/h' or a number per second; over-limit tasks wait. @defaultValue taskDefaultRateLimit */
  rateLimit?: string | number;
  /**
   * At most this many across all workers, shared through Redis (same syntax as rateLimit); over-limit
   * tasks wait, never dropped. @defaultValue taskDefaultGlobalRateLimit
   */
  globalRateLimit?: string | number;
  /** Hard time limit, seconds. */
  timeLimit?: number;
  /** Soft time limit, seconds: the task's AbortSignal fires. */
  softTimeLimit?: number;
  /** Default queue of this task. */
  queue?: string;
  priority?: number;
  serializer?: string;
  /** Call options applied to every call of this task. */
  defaults?: ApplyOptions;
  /**
   * Python-style **kwargs: keyword arguments are not bound to parameters by name; the function reads
   * them from `this.request.kwargs` (Celery's built-in tasks use this). @defaultValue false
   */
  rawKwargs?: boolean;
}

export interface ApplyOptions {
  /** Keyword arguments (Celery kwargs): matched to parameters by name on the worker. */
  kwargs?: Record<string, unknown>;
  /** Seconds from now before the task may run. */
  countdown?: number;
  /** Earliest time to run. */
  eta?: Date;
  /** Seconds from now, or a time, after which the task is revoked unrun. */
  expires?: number | Date;
  taskId?: string;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  /** 0-9. On Redis 0 is served first; on RabbitMQ 9 (with x-max-priority). */
  priority?: number;
  /** Custom headers, merged at the top level of the message like Celery's. */
  headers?: Record<string, unknown>;
  /** 'json' (default) or 'msgpack'. */
  serializer?: string;
  compression?: 'gzip' | 'zlib' | 'brotli';
  ignoreResult?: boolean;
  argsrepr?: string;
  kwargsrepr?: string;
  /** Name shown in logs and monitors instead of the task's. */
  shadow?: string;
  timeLimit?: number;
  softTimeLimit?: number;
  /** Retry the publish when the broker is unreachable. @defaultValue taskPublishRetry */
  retry?: boolean;
  retryPolicy?: Partial<RetryPolicy>;
  /** Workflow ids (set by the worker for messages sent from inside a task). */
  parentId?: string;
  rootId?: string;
  groupId?: string;
  groupIndex?: number;
  /** Signatures applied with this task's result when it succeeds (Celery's link). */
  link?: AnySignature | readonly AnySignature[];
  /** Signatures called when it fails (Celery's link_error). */
  linkError?: AnySignature | readonly AnySignature[];
}
