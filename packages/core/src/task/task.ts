/**
 * Task<TArgs, TResult>: a function that can also be sent to a worker. Its parameters type `.delay()`,
 * its return type types `AsyncResult.get()`; nobody writes the types twice.
 */
import type { CanvasHost } from '../canvas/canvas-host';
import { ChunksSignature, MapSignature } from '../canvas/chunks';
import { Signature } from '../canvas/signature';
import { toWireOptions } from '../canvas/signature-options';
import type { DropLast, ProperSuffixes } from '../canvas/signature-types';
import type { AsyncResult } from '../result/async-result';
import type { EagerResult } from '../result/eager-result';
import { inferParamNames } from './params';
import type { TaskContext } from './task-context';
import type { ApplyOptions, TaskOptions } from './task-options';

/** The function behind a task. `this` is the TaskContext when the function is not an arrow. */
export type TaskFunction<TArgs extends unknown[] = never[], TResult = unknown> = (this: TaskContext, ...args: TArgs) => TResult | Promise<TResult>;

/** What a task needs from its app to be called. Implemented by Celeriac. */
export interface TaskCaller extends CanvasHost {
  applyTask(task: AnyTask, args: unknown[], options: ApplyOptions): Promise<AsyncResult<unknown>>;
  applyEager(task: AnyTask, args: unknown[], options: ApplyOptions): Promise<EagerResult<unknown>>;
  applyTaskMany(task: AnyTask, argsList: unknown[][], options: ApplyOptions): Promise<Array<AsyncResult<unknown>>>;
}

export interface TaskMethods<TArgs extends unknown[], TResult> {
  /** The registered name, e.g. 'math.add'. */
  readonly taskName: string;
  readonly options: Readonly<TaskOptions<TResult>>;
  /** Parameter names used to bind kwargs; null entries are positional-only. */
  readonly params: ReadonlyArray<string | null> | null;
  /** The function itself. */
  readonly fn: TaskFunction<TArgs, TResult>;
  /** Sends the task with positional arguments. */
  delay(...args: TArgs): Promise<AsyncResult<TResult>>;
  /** Sends the task with call options (countdown, eta, expires, queue, priority, headers...). */
  applyAsync(args: TArgs, options?: ApplyOptions): Promise<AsyncResult<TResult>>;
  /** With kwargs, positional args may be partial; the worker binds kwargs by parameter name. */
  applyAsync(args: Partial<TArgs> | [], options: ApplyOptions & { kwargs: Record<string, unknown> }): Promise<AsyncResult<TResult>>;
  /**
   * Sends one message per argument tuple in a single broker round trip (pipelined); the batch API for
   * producers that enqueue many tasks at once.
   */
  applyMany(argsList: readonly TArgs[], options?: Omit<ApplyOptions, 'taskId'>): Promise<Array<AsyncResult<TResult>>>;
  /** Runs the task here and now (Celery's apply); the result is an EagerResult. */
  apply(args: TArgs, options?: ApplyOptions): Promise<EagerResult<TResult>>;
  /**
   * A signature with all arguments, or the trailing ones: arguments given when it is called (a chain's
   * previous result) are prepended, so `add.s(2).delay(8)` runs `add(8, 2)`.
   */
  s(...args: TArgs): Signature<TArgs, TResult, []>;
  s<A extends ProperSuffixes<TArgs>>(...args: A): Signature<A, TResult, DropLast<TArgs, A>>;
  /** An immutable signature: it ignores arguments it is called with (a chain step that does not take the previous result). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an immutable signature takes (and ignores) anything
  si(...args: TArgs): Signature<TArgs, TResult, any[]>;
  /** A signature with call options (queue, countdown, link...) and kwargs. */
  signature(args: TArgs, options?: ApplyOptions): Signature<TArgs, TResult, []>;
  signature(args: Partial<TArgs> | [], options: ApplyOptions & { kwargs: Record<string, unknown> }): Signature<unknown[], TResult, []>;
  /** One message that calls the task once per item (Celery's `task.map`, the `celery.map` task). */
  map(items: Iterable<TArgs[0]>): MapSignature<TResult[]>;
  /** One message that calls the task once per argument list (`celery.starmap`). */
  starmap(argLists: Iterable<TArgs>): MapSignature<TResult[]>;
  /** The argument lists split into chunks of `n`, one starmap message each, run as a group. */
  chunks(argLists: Iterable<TArgs>, n: number): ChunksSignature<TResult[][]>;
}

/** A typed task: callable directly (runs the function), or sent with delay/applyAsync. */
export type Task<TArgs extends unknown[] = unknown[], TResult = unknown> = TaskMethods<TArgs, TResult> & ((...args: TArgs) => Promise<TResult>);

/** Any task, whatever its types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTask = Task<any[], any>;

/** The argument tuple of a task type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskArgs<T> = T extends { delay(...args: infer A): any } ? A : never;
/** The result type of a task type. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type TaskResult<T> = T extends { delay(...args: any[]): Promise<AsyncResult<infer R>> } ? R : never;

const TASK_BRAND = Symbol.for('celeriac.task');

/** True for objects made by createTask. */
export function isTask(value: unknown): value is AnyTask {
  return typeof value === 'function' && (value as unknown as Record<symbol, unknown>)[TASK_BRAND] === true;
}

/**
 * Builds a Task. `caller` resolves the app lazily, so shared tasks bind to whichever app the process
 * finalizes.
 */
export function createTask<TArgs extends unknown[], TResult>(
  name: string,
  fn: TaskFunction<TArgs, TResult>,
  options: TaskOptions<TResult>,
  caller: () => TaskCaller,
  makeDirectContext: (task: AnyTask, args: unknown[]) => TaskContext,
): Task<TArgs, Awaited<TResult>> {
  const params = options.params ? [...options.params] : inferParamNames(fn);
  const task = async function (...args: TArgs): Promise<Awaited<TResult>> {
    return await (fn.apply(makeDirectContext(task as unknown as AnyTask, args), args));
  };
  const methods = {
    taskName: name,
    options: Object.freeze({ ...options }),
    params,
    fn,
    delay(...args: TArgs) {
      return caller().applyTask(task as unknown as AnyTask, args, {});
    },
    applyAsync(args: TArgs, callOptions: ApplyOptions = {}) {
      return caller().applyTask(task as unknown as AnyTask, args ?? [], callOptions);
    },
    applyMany(argsList: readonly TArgs[], callOptions: ApplyOptions = {}) {
      return caller().applyTaskMany(task as unknown as AnyTask, argsList as unknown as unknown[][], callOptions);
    },
    apply(args: TArgs, callOptions: ApplyOptions = {}) {
      return caller().applyEager(task as unknown as AnyTask, args ?? [], callOptions);
    },
    s(...args: unknown[]) {
      return new Signature({ task: name, args }, caller);
    },
    si(...args: unknown[]) {
      return new Signature({ task: name, args, immutable: true }, caller);
    },
    signature(args: unknown[] = [], callOptions: ApplyOptions = {}) {
      const { kwargs, ...rest } = callOptions;
      return new Signature({ task: name, args, kwargs: kwargs ?? {}, options: toWireOptions(rest) }, caller);
    },
    map(items: Iterable<unknown>) {
      return new MapSignature('xmap', { task: name, args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }, [...items], {}, caller);
    },
    starmap(argLists: Iterable<unknown[]>) {
      return new MapSignature('xstarmap', { task: name, args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }, [...argLists], {}, caller);
    },
    chunks(argLists: Iterable<unknown[]>, n: number) {
      return new ChunksSignature({ task: name, args: [], kwargs: {}, options: {}, subtask_type: null, immutable: false }, [...argLists], n, {}, caller);
    },
  };
  Object.assign(task, methods);
  Object.defineProperty(task, 'name', { value: name });
  Object.defineProperty(task, TASK_BRAND, { value: true });
  return task as unknown as Task<TArgs, Awaited<TResult>>;
}
