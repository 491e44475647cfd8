/**
 * Runs one task request: binds kwargs, applies time limits, calls handlers, stores the state, and
 * turns retries (explicit or automatic) into a re-published message with the same id.
 * Shared by the worker and by apply()/eager mode.
 */
import type { CeleriacSettings } from '../app/settings';
import type { ResultBackend } from '../backends/result-backend';
import type { DeliveryInfo } from '../brokers/broker';
import { Ignore, Reject, Retry, SoftTimeLimitExceededError, TaskRevokedError, TimeLimitExceededError, toError } from '../errors';
import type { Logger } from '../logging/logger';
import { toExceptionDict } from '../protocol/exception-codec';
import type { TaskMessage } from '../protocol/message-v2';
import { dateDoneNow, type ResultMeta } from '../protocol/result-meta';
import { FAILURE, IGNORED, READY_STATES, REJECTED, RETRY, REVOKED, STARTED, SUCCESS } from '../result/states';
import { bindKwargs } from '../task/params';
import type { AnyTask } from '../task/task';
import { runInTaskContext, TaskContext, type TaskRequest } from '../task/task-context';
import type { Signals } from '../signals/signals';
import type { ErrorMatcher } from '../task/task-options';
import { hasWorkflow, type Workflow } from '../canvas/workflow';
import { toResultTuple } from '../result/result-tuple';
import { buildRequest } from './request';
import { autoretryCountdown } from './retry-delay';

export interface ExecutorHost {
  readonly conf: CeleriacSettings;
  readonly logger: Logger;
  /** The result backend, or null when results are disabled. */
  backendOrNull(): ResultBackend | null;
  /** Sends the retry message (same id, retries + 1, eta). Eager runs re-run in place instead. */
  sendRetry(message: TaskMessage, deliveryInfo: DeliveryInfo | null): Promise<void>;
  /** Canvas follow-ups (callbacks, chain, chord join, errbacks). */
  workflow(): Workflow;
  /** App signals (task_prerun, task_postrun, task_success, task_failure, task_retry), fired where the task runs. */
  readonly signals?: Signals;
}

export type Outcome =
  | { state: typeof SUCCESS; retval: unknown; runtimeMs: number }
  | { state: typeof FAILURE; error: unknown; runtimeMs: number; expected: boolean }
  | { state: typeof RETRY; error: unknown; eta: Date; runtimeMs: number }
  | { state: typeof IGNORED; runtimeMs: number }
  | { state: typeof REVOKED; error: TaskRevokedError; runtimeMs: number }
  | { state: typeof REJECTED; requeue: boolean; error: unknown; runtimeMs: number };

export function matches(matchers: readonly ErrorMatcher[] | undefined, error: unknown): boolean {
  if (!matchers) return false;
  return matchers.some((m) => {
    if (m.prototype instanceof Error || m === Error) return error instanceof (m as new () => Error);
    return (m as (e: unknown) => boolean)(error);
  });
}

export interface ExecutorOptions {
  /** The hard time limit is enforced outside (a pool kills the thread/process running the task); only the soft one applies here. */
  externalHardLimit?: boolean;
}

/** A task running now: its context, and how to stop waiting for it (revoke with terminate). */
export interface RunningTask {
  readonly ctx: TaskContext;
  readonly message: TaskMessage;
  readonly startedAt: number;
  interrupt?: (reason: unknown) => void;
}

export class Executor {
  /** Tasks running now, by id (remote control's `active`, revoke's `terminate`). */
  readonly running = new Map<string, RunningTask>();

  constructor(
    private readonly host: ExecutorHost,
    private readonly hostname: string,
    private readonly options: ExecutorOptions = {},
  ) {}

  /**
   * Stops a running task (revoke with terminate): its signal aborts with TaskRevokedError and the
   * worker stops waiting for it, storing REVOKED. On the async pool its code is not killed: it should
   * watch `this.signal`. Returns false when the task is not running here.
   */
  terminate(id: string): boolean {
    const entry = this.running.get(id);
    if (!entry) return false;
    const reason = new TaskRevokedError('terminated');
    entry.ctx.abort(reason);
    entry.interrupt?.(reason);
    return true;
  }

  /** Stores a state unless results are ignored for this request. */
  store(meta: ResultMeta, ignore: boolean): Promise<void> {
    const backend = this.host.backendOrNull();
    if (!backend || ignore) return NOTHING_STORED;
    return backend.storeResult(meta);
  }

  meta(message: TaskMessage, status: string, result: unknown, traceback: string | null, deliveryInfo: DeliveryInfo | null, children: unknown[] = []): ResultMeta {
    const ready = READY_STATES.has(status);
    const meta: ResultMeta = {
      taskId: message.id,
      status,
      result,
      traceback,
      children,
      dateDone: ready ? dateDoneNow() : null,
    };
    if (message.group) meta.groupId = message.group;
    if (message.parentId) meta.parentId = message.parentId;
    if (message.replyTo) {
      meta.replyTo = message.replyTo;
      meta.correlationId = message.correlationId;
    }
    if (this.host.conf.resultExtended) {
      meta.name = message.task;
      meta.args = message.args;
      meta.kwargs = message.kwargs;
      meta.worker = this.hostname;
      meta.retries = message.retries;
      meta.queue = deliveryInfo?.routingKey ?? undefined;
    }
    return meta;
  }

  async run(task: AnyTask, message: TaskMessage, deliveryInfo: DeliveryInfo | null, isEager: boolean): Promise<Outcome> {
    const conf = this.host.conf;
    const opts = task.options;
    const ignoreResult = message.ignoreResult || (opts.ignoreResult ?? conf.taskIgnoreResult);
    const storeErrors = !ignoreResult || conf.taskStoreErrorsEvenIfIgnored;
    const request = buildRequest(message, this.hostname, deliveryInfo, isEager);
    const ctx = new TaskContext(
      request,
      { maxRetries: opts.maxRetries === undefined ? 3 : opts.maxRetries, defaultRetryDelay: opts.defaultRetryDelay ?? 180 },
      (state, meta) => this.store(this.meta(message, state, meta ?? null, null, deliveryInfo), ignoreResult),
    );
    const storing = !ignoreResult && this.host.backendOrNull() !== null;
    const started = performance.now();
    const elapsed = (): number => performance.now() - started;
    const hard = this.options.externalHardLimit ? undefined : (message.timeLimit[0] ?? opts.timeLimit ?? conf.taskTimeLimit);
    const soft = message.timeLimit[1] ?? opts.softTimeLimit ?? conf.taskSoftTimeLimit;
    const signals = this.host.signals;
    try {
      if (signals?.has('taskPrerun')) signals.emit('taskPrerun', { taskId: message.id, task, args: message.args, kwargs: message.kwargs, request });
      if (opts.trackStarted ?? conf.taskTrackStarted) {
        await this.store(this.meta(message, STARTED, { pid: process.pid, hostname: this.hostname }, null, deliveryInfo), ignoreResult);
      }
      if (opts.beforeStart) await opts.beforeStart(ctx);
      const positional = opts.rawKwargs ? message.args : bindKwargs(task.taskName, task.params, message.args, message.kwargs);
      const call = (): unknown => task.fn.apply(ctx, positional as never[]);
      const returned = conf.taskPropagateContext ? runInTaskContext(ctx, call) : call();
      // A synchronous task has finished here: no timer could fire, nothing could interrupt it, so
      // none of the waiting machinery (and its promises, each one costly under AsyncLocalStorage's
      // promise hooks) is built for it.
      const retval = isThenable(returned) ? await this.waitFor(returned, ctx, message, task, isEager, soft, hard) : returned;
      // Callbacks and the next chain step go out before the result is stored, so `children` lists them (as Celery).
      const workflow = hasWorkflow(message) ? this.host.workflow() : undefined;
      let children: unknown[] = ctx.children ? ctx.children.map(toResultTuple) : [];
      if (workflow) children = [...children, ...(await workflow.afterSuccess(message, retval))];
      if (storing) await this.store(this.meta(message, SUCCESS, retval ?? null, null, deliveryInfo, children), false);
      if (workflow && message.group && message.embed.chord) await this.chordPart(workflow, message, SUCCESS, retval ?? null);
      if (opts.onSuccess) await opts.onSuccess(retval, ctx);
      if (opts.afterReturn) await opts.afterReturn(SUCCESS, retval, ctx);
      if (signals?.has('taskSuccess')) signals.emit('taskSuccess', { taskId: message.id, task, result: retval, request });
      const outcome: Outcome = { state: SUCCESS, retval, runtimeMs: elapsed() };
      if (signals?.has('taskPostrun')) postrun(signals, task, message, request, outcome);
      return outcome;
    } catch (thrown) {
      const outcome = await this.handleError(task, message, deliveryInfo, ctx, thrown, storeErrors, ignoreResult, elapsed);
      if (signals?.has('taskPostrun')) postrun(signals, task, message, request, outcome);
      return outcome;
    }
  }

  /**
   * Waits for an asynchronous task under its soft and hard time limits (seconds); the wait can be
   * interrupted by revoke(terminate).
   */
  private async waitFor(
    returned: PromiseLike<unknown>,
    ctx: TaskContext,
    message: TaskMessage,
    task: AnyTask,
    isEager: boolean,
    soft: number | undefined,
    hard: number | undefined,
  ): Promise<unknown> {
    let running: Promise<unknown> = Promise.resolve(returned);
    const softTimer = soft ? setTimeout(() => ctx.abort(new SoftTimeLimitExceededError(soft)), soft * 1000) : undefined;
    let hardTimer: NodeJS.Timeout | undefined;
    if (hard) {
      // On the async pool a task cannot be killed: it is abandoned and marked failed (the thread and process pools kill it).
      running.catch(() => undefined);
      running = Promise.race([
        running,
        new Promise<never>((_, reject) => {
          hardTimer = setTimeout(() => {
            ctx.abort(new TimeLimitExceededError(hard));
            this.host.logger.warn({ task: task.taskName, id: message.id }, `Hard time limit (${hard}s) exceeded; the task is abandoned but its code may still be running.`);
            reject(new TimeLimitExceededError(hard));
          }, hard * 1000);
        }),
      ]);
    }
    const entry: RunningTask = { ctx, message, startedAt: Date.now() / 1000 };
    this.running.set(message.id, entry);
    if (!isEager) {
      // Interruptible by revoke(terminate): the wait ends even if the code does not.
      const inner = running;
      running = new Promise<unknown>((resolve, reject) => {
        entry.interrupt = reject;
        inner.then(resolve, reject);
      });
    }
    try {
      return await running;
    } finally {
      this.running.delete(message.id);
      clearTimeout(softTimer);
      clearTimeout(hardTimer);
    }
  }

  /** A chord join error must not turn a finished task into a failure: it fails the chord's body instead. */
  private async chordPart(workflow: Workflow, message: TaskMessage, state: string, value: unknown): Promise<void> {
    try {
      await workflow.chordPart(message.group!, message.groupIndex, message.id, message.embed.chord!, state, value, { parent_id: message.id, root_id: message.rootId });
    } catch (err) {
      this.host.logger.error({ err, id: message.id, group: message.group }, `Chord ${message.group} could not be joined by task ${message.id}`);
      await workflow.failChordBody(message.embed.chord!, err).catch(() => undefined);
    }
  }

  private async handleError(
    task: AnyTask,
    message: TaskMessage,
    deliveryInfo: DeliveryInfo | null,
    ctx: TaskContext,
    thrown: unknown,
    storeErrors: boolean,
    ignoreResult: boolean,
    elapsed: () => number,
  ): Promise<Outcome> {
    const opts = task.options;
    if (thrown instanceof Ignore) return { state: IGNORED, runtimeMs: elapsed() };
    if (thrown instanceof TaskRevokedError && ctx.signal.aborted && ctx.signal.reason === thrown) {
      // Revoked with terminate while running.
      await this.store(this.meta(message, REVOKED, toExceptionDict(thrown), null, deliveryInfo), !storeErrors);
      if (hasWorkflow(message)) await this.host.workflow().afterFailure(message, ctx.request, thrown, null, REVOKED).catch(() => undefined);
      this.host.logger.warn({ task: task.taskName, id: message.id }, `Task ${task.taskName}[${message.id}] terminated (revoked); its code may still be running.`);
      return { state: REVOKED, error: thrown, runtimeMs: elapsed() };
    }
    if (thrown instanceof Reject) return { state: REJECTED, requeue: thrown.requeue, error: thrown, runtimeMs: elapsed() };

    let retry: Retry | undefined = thrown instanceof Retry ? thrown : undefined;
    let failure: unknown = thrown;
    if (!retry && matches(opts.autoretryFor, thrown) && !matches(opts.dontAutoretryFor, thrown)) {
      const max = opts.maxRetries === undefined ? 3 : opts.maxRetries;
      if (max === null || message.retries < max) {
        retry = new Retry(thrown, new Date(Date.now() + autoretryCountdown(opts, message.retries) * 1000));
      }
    }
    if (retry) {
      const when = retry.when ?? new Date();
      const next = { ...message, retries: message.retries + 1, eta: when, parentId: message.id };
      try {
        await this.host.sendRetry(next, deliveryInfo);
        const reason = retry.reason ?? retry;
        await this.store(this.meta(message, RETRY, toExceptionDict(reason), toError(reason).stack ?? null, deliveryInfo), !storeErrors);
        this.host.logger.info({ task: task.taskName, id: message.id }, `Task ${task.taskName}[${message.id}] retry: ${retry.message}`);
        if (opts.onRetry) await opts.onRetry(reason, ctx);
        if (opts.afterReturn) await opts.afterReturn(RETRY, reason, ctx);
        if (this.host.signals?.has('taskRetry')) this.host.signals.emit('taskRetry', { taskId: message.id, task, reason, eta: when, request: ctx.request });
        return { state: RETRY, error: reason, eta: when, runtimeMs: elapsed() };
      } catch (err) {
        failure = err;
      }
    }
    const expected = matches(opts.throws, failure);
    const error = toError(failure);
    await this.store(this.meta(message, FAILURE, toExceptionDict(failure), error.stack ?? null, deliveryInfo), !storeErrors);
    if (hasWorkflow(message)) {
      await this.host
        .workflow()
        .afterFailure(message, ctx.request, failure, error.stack ?? null)
        .catch((err: unknown) => this.host.logger.error({ err, task: task.taskName, id: message.id }, `Could not run the failure follow-ups (chord, chain, errbacks) of ${task.taskName}[${message.id}]`));
    }
    const log = { task: task.taskName, id: message.id };
    if (expected) {
      if (this.host.logger.isLevelEnabled('info')) this.host.logger.info(log, `Task ${task.taskName}[${message.id}] raised expected: ${error.name}: ${error.message}`);
    } else this.host.logger.error({ ...log, err: error }, `Task ${task.taskName}[${message.id}] raised unexpected: ${error.name}: ${error.message}`);
    if (opts.onFailure) await opts.onFailure(failure, ctx);
    const signals = this.host.signals;
    if (signals?.has('taskFailure')) {
      signals.emit('taskFailure', { taskId: message.id, task, exception: failure, args: message.args, kwargs: message.kwargs, traceback: error.stack ?? null, request: ctx.request });
    }
    if (opts.afterReturn) await opts.afterReturn(FAILURE, failure, ctx);
    return { state: FAILURE, error: failure, runtimeMs: elapsed(), expected };
  }
}

const NOTHING_STORED: Promise<void> = Promise.resolve();

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as { then?: unknown }).then === 'function';
}

/** task_postrun: `retval` is the return value, or the error of any other outcome (as Celery's trace). */
function postrun(signals: Signals, task: AnyTask, message: TaskMessage, request: TaskRequest, outcome: Outcome): void {
  const retval = outcome.state === SUCCESS ? outcome.retval : 'error' in outcome ? outcome.error : undefined;
  signals.emit('taskPostrun', { taskId: message.id, task, args: message.args, kwargs: message.kwargs, retval, state: outcome.state, request });
}
