/**
 * What each app signal passes its listeners: Celery's signals (celery/signals.py) with their
 * arguments in camelCase. `sender` is left out where Celery's sender is the task (it is `task` here)
 * or the worker (`worker`).
 */
import type { WireMessage } from '../protocol/wire-message';
import type { AnyTask } from '../task/task';
import type { TaskRequest } from '../task/task-context';
import type { Worker } from '../worker/worker';

/** Celery before_task_publish: the message is built, not yet sent. */
export interface BeforeTaskPublishPayload {
  /** Task name (Celery's sender). */
  name: string;
  /** `[args, kwargs, embed]`, decoded (changes here do not reach the wire: the body is encoded already). */
  body: readonly [unknown[], Record<string, unknown>, Record<string, unknown>];
  /** The message headers as they will be sent: a listener may add or change them (as in Celery). */
  headers: Record<string, unknown>;
  /** The message properties (correlationId, replyTo, priority...): may be changed too. */
  properties: WireMessage['properties'];
  exchange: string;
  routingKey: string;
}

/** Celery after_task_publish: the broker accepted the message. */
export interface AfterTaskPublishPayload {
  name: string;
  body: readonly [unknown[], Record<string, unknown>, Record<string, unknown>];
  headers: Readonly<Record<string, unknown>>;
  exchange: string;
  routingKey: string;
}

/** Celery task_prerun. */
export interface TaskPrerunPayload {
  taskId: string;
  task: AnyTask;
  args: unknown[];
  kwargs: Record<string, unknown>;
  request: TaskRequest;
}

/** Celery task_postrun: `retval` is the return value, or the error for FAILURE/RETRY/REVOKED/REJECTED. */
export interface TaskPostrunPayload extends TaskPrerunPayload {
  retval: unknown;
  state: string;
}

/** Celery task_success. */
export interface TaskSuccessPayload {
  taskId: string;
  task: AnyTask;
  result: unknown;
  request: TaskRequest;
}

/** Celery task_failure. */
export interface TaskFailurePayload {
  taskId: string;
  task: AnyTask;
  exception: unknown;
  args: unknown[];
  kwargs: Record<string, unknown>;
  traceback: string | null;
  request: TaskRequest;
}

/** Celery task_retry: the retry message was sent. */
export interface TaskRetryPayload {
  taskId: string;
  task: AnyTask;
  reason: unknown;
  /** When the retry is due. */
  eta: Date;
  request: TaskRequest;
}

/** Celery task_revoked: a task that will not run (revoked, expired) or was stopped (terminated). */
export interface TaskRevokedPayload {
  taskId: string;
  /** Undefined when the task is not registered here. */
  task: AnyTask | undefined;
  request: TaskRequest;
  terminated: boolean;
  /** The signal name given to revoke(terminate), else null. */
  signum: string | null;
  expired: boolean;
}

/** Celery task_unknown: a message for a task not registered on this worker (rejected). */
export interface TaskUnknownPayload {
  name: string;
  id: string;
  message: WireMessage;
  exc: Error;
}

/** Celery task_rejected: a message that is not a task this worker can read (rejected). */
export interface TaskRejectedPayload {
  message: WireMessage;
  exc: Error;
}

export interface WorkerPayload {
  worker: Worker;
}

/** Celery heartbeat_sent: fired as the worker sends worker-online, worker-heartbeat or worker-offline. */
export interface HeartbeatSentPayload {
  worker: Worker;
  /** `worker-online` | `worker-heartbeat` | `worker-offline` */
  type: string;
}

/** Listener arguments, by signal name. */
export interface SignalMap {
  beforeTaskPublish: BeforeTaskPublishPayload;
  afterTaskPublish: AfterTaskPublishPayload;
  taskPrerun: TaskPrerunPayload;
  taskPostrun: TaskPostrunPayload;
  taskSuccess: TaskSuccessPayload;
  taskFailure: TaskFailurePayload;
  taskRetry: TaskRetryPayload;
  taskRevoked: TaskRevokedPayload;
  taskUnknown: TaskUnknownPayload;
  taskRejected: TaskRejectedPayload;
  /** Before the worker connects (Celery worker_init). */
  workerInit: WorkerPayload;
  /** Consuming (Celery worker_ready). */
  workerReady: WorkerPayload;
  /** Stopped, after running tasks finished or were given back (Celery worker_shutdown). */
  workerShutdown: WorkerPayload;
  heartbeatSent: HeartbeatSentPayload;
}

export type SignalName = keyof SignalMap;
/** A listener; a returned promise is not awaited (Celery's signals are synchronous), its rejection is logged. */
export type SignalListener<K extends SignalName> = (payload: SignalMap[K]) => unknown;
