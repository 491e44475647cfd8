/**
 * An execution pool: where a task's code runs once the worker has decided to run it. The worker keeps
 * everything about messages (decode, ack/reject/restore, ETA, rate limits, revokes); a pool only runs
 * one task request and says how it ended.
 *
 * ```text
 * async       in the worker's event loop (Executor), -c N tasks at once; default
 * threads     N worker_threads, each loads the app from `appSource` and runs one task at a time
 * processes   N child processes (child_process.fork), likewise: Celery's prefork
 * ```
 */
import type { CeleriacSettings } from '../../app/settings';
import type { DeliveryInfo } from '../../brokers/broker';
import type { TaskMessage } from '../../protocol/message-v2';
import type { AnyTask } from '../../task/task';
import type { Outcome } from '../executor';

export type PoolKind = 'async' | 'threads' | 'processes';

export const POOL_KINDS: readonly PoolKind[] = ['async', 'threads', 'processes'];

/**
 * How a thread or child process builds the app: `await import(module)`, take `export` (default
 * `default`); a function is called with `args` and awaited. The result is a Celeriac app, or
 * `{ app, close }` where `close` runs when the thread/process retires (e.g. to close a Nest context).
 */
export interface AppSource {
  /** An absolute path, or a package specifier (resolved from the child's cwd first). */
  module: string;
  /** @defaultValue 'default' */
  export?: string;
  /** Structured-cloneable arguments for an exported function. */
  args?: readonly unknown[];
}

/** `--autoscale max,min`: the pool grows toward `max` while tasks wait and shrinks toward `min` when idle. */
export interface AutoscaleOptions {
  max: number;
  min: number;
  /** Seconds of low demand before shrinking. @defaultValue 30 */
  keepalive?: number;
}

/** Settings of a pool of threads or processes. */
export interface ChildPoolOptions {
  appSource: AppSource;
  /** Children at start. */
  size: number;
  /** Retire a child after it ran this many tasks (Celery's worker_max_tasks_per_child). */
  maxTasksPerChild?: number;
  /**
   * Retire a child after a task when its memory is above this many KiB (worker_max_memory_per_child).
   * Processes: the child's resident set size. Threads: the thread's V8 heap in use (RSS is per process).
   */
  maxMemoryPerChild?: number;
  /** Node name, for requests and stored metadata. */
  hostname: string;
}

/** One task to run. */
export interface PoolJob {
  task: AnyTask;
  message: TaskMessage;
  deliveryInfo: DeliveryInfo;
}

export interface Pool {
  readonly kind: PoolKind;
  /** Tasks it can run at once now. */
  readonly size: number;
  start(): Promise<void>;
  /** Runs a task to its end; never rejects for the task's own failure. */
  run(job: PoolJob): Promise<Outcome>;
  /** Stops a running task (revoke with terminate); false when it is not running here. */
  terminate(id: string): boolean;
  /** The pid of the process running a task (processes pool), for remote control's `active`. */
  pidOf(id: string): number | undefined;
  /** Unix seconds a running task started, for remote control's `active`. */
  startedAt(id: string): number | null;
  /** Grows or shrinks to `size` (autoscale); busy children retire once their task ends. */
  resize(size: number): void;
  /** Warm: children finish and close their apps. Cold (`graceful: false`): children are killed. */
  close(options?: { graceful?: boolean }): Promise<void>;
  /** Remote control `stats`' pool dict. */
  stats(): Record<string, unknown>;
}

/** The hard time limit of a request in seconds, as Executor computes it (message, task option, setting). */
export function hardTimeLimit(task: AnyTask, message: TaskMessage, conf: CeleriacSettings): number | undefined {
  return message.timeLimit[0] ?? task.options.timeLimit ?? conf.taskTimeLimit ?? undefined;
}
