/**
 * What a running task knows about itself (Celery's `self.request`), and the calls it can make:
 * `retry()` and `updateState()`. Available as `this` in a `function` task and via `currentTask()`.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MaxRetriesExceededError, Retry } from '../errors';
import type { DeliveryInfo } from '../brokers/broker';
import { replaceTask } from '../canvas/replace';
import type { AnySignature } from '../canvas/signature';
import type { AsyncResult } from '../result/async-result';
import type { SignatureDict } from '../protocol/message-v2';

export interface TaskRequest {
  id: string;
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  retries: number;
  eta: Date | null;
  expires: Date | null;
  /** Node name of the worker running it (name@host). */
  hostname: string;
  rootId: string;
  parentId: string | null;
  groupId: string | null;
  groupIndex: number | null;
  correlationId: string;
  replyTo: string | null;
  origin: string;
  /** [hard, soft] seconds. */
  timeLimit: [number | null, number | null];
  ignoreResult: boolean;
  /** Custom headers the message carried. */
  headers: Record<string, unknown>;
  deliveryInfo: DeliveryInfo | null;
  /** Run by apply() / eager mode, not by a worker. */
  isEager: boolean;
  /** Signatures to apply with the result (link). */
  callbacks: SignatureDict[] | null;
  /** Signatures to call on failure (link_error). */
  errbacks: SignatureDict[] | null;
  /** The rest of the chain, next step last. */
  chain: SignatureDict[] | null;
  /** The chord body this task is a header member of. */
  chord: SignatureDict | null;
}

export interface RetryOptions {
  /** The error that caused the retry; stored with the RETRY state and raised when retries run out. */
  exc?: unknown;
  /** Seconds before the retry. @defaultValue the task's defaultRetryDelay */
  countdown?: number;
  eta?: Date;
  /** Overrides the task's maxRetries for this call. */
  maxRetries?: number | null;
}

/** Reports a custom state (PROGRESS, ...) while the task runs. */
export type UpdateState = (state: string, meta?: unknown) => Promise<void>;

export class TaskContext {
  // Created on first use: most tasks never look at their signal, and an AbortController per task costs.
  private controller: AbortController | undefined;
  /** Results of tasks sent from this task's code (stored as its `children`); allocated on first use. */
  children: Array<AsyncResult<unknown>> | undefined;

  /** @internal Records a task sent from this task's code. */
  addChildren(results: ReadonlyArray<AsyncResult<unknown>>): void {
    (this.children ??= []).push(...results);
  }

  constructor(
    readonly request: TaskRequest,
    private readonly limits: { maxRetries: number | null; defaultRetryDelay: number },
    private readonly update: UpdateState,
  ) {}

  /** Fires on the soft time limit or revoke-terminate; pass it to fetch() and friends. */
  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }

  /** @internal Aborts the task's signal with `reason`. */
  abort(reason: unknown): void {
    (this.controller ??= new AbortController()).abort(reason);
  }

  /** Same as request.id. */
  get id(): string {
    return this.request.id;
  }

  /**
   * Re-publishes this task (same id, retries + 1) after a countdown. Always throws: `Retry` as a
   * signal, or the given error / MaxRetriesExceededError once retries run out.
   * @example
   * app.task('mail.send', async function (this: TaskContext, to: string) {
   *   try { await smtp.send(to); } catch (exc) { this.retry({ exc, countdown: 60 }); }
   * });
   */
  retry(options: RetryOptions = {}): never {
    const max = options.maxRetries !== undefined ? options.maxRetries : this.limits.maxRetries;
    if (max !== null && this.request.retries >= max) {
      // eslint-disable-next-line @typescript-eslint/only-throw-error -- Celery raises the given exc as it is
      if (options.exc !== undefined) throw options.exc;
      throw new MaxRetriesExceededError(this.request.name, this.request.id, max);
    }
    const when = options.eta ?? new Date(Date.now() + (options.countdown ?? this.limits.defaultRetryDelay) * 1000);
    throw new Retry(options.exc, when);
  }

  /**
   * Replaces this task with a signature (Celery's `Task.replace`): the replacement gets this task's id,
   * callbacks, errbacks, group/chord membership and the rest of its chain, and this task ends without
   * a result of its own. Await it as the last thing the task does: on a worker it never resolves; in
   * eager mode it resolves with the replacement's result.
   * @example
   * return await this.replace(group(items.map((i) => process.s(i))));
   */
  async replace<R = unknown>(signature: AnySignature): Promise<R> {
    return replaceTask<R>(this, signature);
  }

  /** Stores a custom state with its meta, e.g. `updateState('PROGRESS', { done: 3, total: 10 })`. */
  updateState(state: string, meta?: unknown): Promise<void> {
    return this.update(state, meta);
  }
}

const storage = new AsyncLocalStorage<TaskContext>();

/** Runs `fn` with `ctx` as the current task (so messages sent inside carry parent/root ids). */
export function runInTaskContext<T>(ctx: TaskContext, fn: () => T): T {
  return storage.run(ctx, fn);
}

/** The task running in this async context, if any (Celery's `current_task`). */
export function currentTask(): TaskContext | undefined {
  return storage.getStore();
}
