/**
 * Signature: a task call packed to be sent later, by a chain, a group, a chord or a worker after its
 * task (Celery's `signature`/`subtask`). It travels in Celery's dict form
 * `{task, args, kwargs, options, subtask_type, immutable}`, so Python and Node read each other's.
 *
 * Partial application is Celery's: arguments given when a signature is called are prepended to its
 * own (`add.s(2).delay(8)` runs `add(8, 2)`); kwargs merge; an immutable signature (`si`) ignores both.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import { AsyncResult } from '../result/async-result';
import type { ApplyOptions } from '../task/task-options';
import type { CanvasHost, TaskSend } from './canvas-host';
import { fromWireOptions, toWireOptions, type WireOptions } from './signature-options';
import type { ResultOf, StepFor } from './signature-types';

/** Options a signature carries or a call adds: the call options of `applyAsync`, link/linkError included. */
export type SignatureOptions = Omit<ApplyOptions, 'kwargs'>;

/** The fields of a signature. */
export interface SignatureInit {
  task: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: WireOptions;
  subtaskType?: string | null;
  immutable?: boolean;
  /** Keys of the dict form we do not model (kept as they came). */
  extras?: Record<string, unknown>;
}

/** Where an app comes from: bound at creation (task.s) or later (app.signature, bind). */
export type HostRef = () => CanvasHost;

/** Any signature, whatever its types. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnySignature = Signature<any, any, any>;

/**
 * A task call to make later.
 * @typeParam TArgs - the arguments it holds
 * @typeParam TResult - what the task returns
 * @typeParam TMissing - the leading arguments still to be given (a chain step gets the previous result
 *   as the first of them); `any[]` for immutable signatures, which ignore what they are given
 */
export class Signature<TArgs extends unknown[] = unknown[], TResult = unknown, TMissing extends unknown[] = unknown[]> {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: WireOptions;
  subtaskType: string | null;
  immutable: boolean;
  extras: Record<string, unknown>;
  protected hostRef: HostRef | undefined;
  /** Type-only: carries the type parameters (never set at run time). */
  declare readonly __types?: { args: TArgs; result: TResult; missing: TMissing };

  constructor(init: SignatureInit, host?: HostRef) {
    this.task = init.task;
    this.args = init.args ?? [];
    this.kwargs = init.kwargs ?? {};
    this.options = init.options ?? {};
    this.subtaskType = init.subtaskType ?? null;
    this.immutable = init.immutable ?? false;
    this.extras = init.extras ?? {};
    this.hostRef = host;
  }

  /** The task id this signature will be sent with, once frozen or set. */
  get id(): string | undefined {
    return typeof this.options.task_id === 'string' ? this.options.task_id : undefined;
  }

  /** Binds the signature (and any it contains) to an app. */
  bind(host: CanvasHost | HostRef): this {
    this.hostRef = typeof host === 'function' ? host : () => host;
    return this;
  }

  /** @internal The app this signature is sent through, if bound. */
  hostOrUndefined(): HostRef | undefined {
    return this.hostRef;
  }

  /** @internal */
  host(): CanvasHost {
    if (!this.hostRef) throw new ConfigError('signature', `Signature of "${this.task}" is not bound to an app: create it with task.s() or app.signature(), or call .bind(app).`);
    return this.hostRef();
  }

  /** Adds call options (queue, countdown, priority, link...). Mutates and returns this signature, as Celery's set(). */
  set(options: SignatureOptions): this {
    Object.assign(this.options, toWireOptions(options as Record<string, unknown>));
    return this;
  }

  /** Makes the signature immutable (or not): it then ignores arguments it is called with. */
  setImmutable(immutable = true): this {
    this.immutable = immutable;
    return this;
  }

  /** A copy, with partial args/kwargs/options applied as a call would (prepended / merged). */
  clone(args: unknown[] = [], kwargs: Record<string, unknown> = {}, options: SignatureOptions = {}): this {
    const copy = this.copy();
    if (!this.immutable) {
      copy.args = [...args, ...copy.args];
      copy.kwargs = { ...copy.kwargs, ...kwargs };
    }
    Object.assign(copy.options, toWireOptions(options as Record<string, unknown>));
    return copy;
  }

  /** @internal A deep copy (subclasses copy what they contain). */
  copy(): this {
    const Ctor = this.constructor as new (init: SignatureInit, host?: HostRef) => this;
    return new Ctor(
      {
        task: this.task,
        args: [...this.args],
        kwargs: { ...this.kwargs },
        options: copyOptions(this.options),
        subtaskType: this.subtaskType,
        immutable: this.immutable,
        extras: { ...this.extras },
      },
      this.hostRef,
    );
  }

  /** Runs `callback` with this task's result prepended to its args when this task succeeds. Returns the callback. */
  link<C extends AnySignature>(callback: C): C {
    this.appendOption('link', callback.toDict());
    return callback;
  }

  /** Runs `errback` when this task fails (new style: (request, error, traceback); old style: the task id). Returns the errback. */
  onError<C extends AnySignature>(errback: C): C {
    this.appendOption('link_error', errback.toDict());
    return errback;
  }

  /** @internal */
  appendOption(key: 'link' | 'link_error', dict: SignatureDict): void {
    const current = this.options[key];
    const list: unknown[] = Array.isArray(current) ? (current as unknown[]) : current ? [current] : [];
    this.options[key] = [...list, dict];
  }

  /** Assigns the task id (if none yet) and returns the result handle it will have once sent. */
  freeze(id?: string): AsyncResult<TResult> {
    if (id !== undefined) this.options.task_id = id;
    else if (this.id === undefined) this.options.task_id = randomUUID();
    return this.resultHandle(this.id!) as AsyncResult<TResult>;
  }

  /** @internal */
  resultHandle(id: string): AsyncResult<unknown> {
    return this.hostRef ? this.hostRef().asyncResult(id) : new AsyncResult(id, null);
  }

  /** Sends the task with `args` prepended to the signature's own. */
  delay(...args: TMissing): Promise<AsyncResult<TResult>> {
    return this.applyAsync(args);
  }

  /** Sends the task: partial `args` are prepended, `options.kwargs` merged, options override the signature's. */
  applyAsync(args?: TMissing | [], options: ApplyOptions = {}): Promise<AsyncResult<TResult>> {
    const { kwargs, ...rest } = options;
    return this.run((args ?? []) as unknown[], kwargs ?? {}, toWireOptions(rest)) as Promise<AsyncResult<TResult>>;
  }

  /** @internal Sends this signature with partial arguments and extra options (dict form). */
  async run(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    const [result] = await this.host().sendTasks([this.prepareSend(args, kwargs, options)]);
    return result!;
  }

  /** @internal The message this plain signature becomes once called (for batched sends). */
  prepareSend(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): TaskSend {
    const merged = this.merge(args, kwargs, options);
    const { apply, embed } = fromWireOptions(merged.options);
    return { name: this.task, args: merged.args, kwargs: merged.kwargs, options: apply, embed };
  }

  /** @internal Celery's `_merge`: partial args prepended, kwargs and options merged; the signature's group wins. */
  merge(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): { args: unknown[]; kwargs: Record<string, unknown>; options: WireOptions } {
    const merged = { ...this.options, ...options };
    if (this.options.group_id !== undefined) merged.group_id = this.options.group_id;
    if (this.immutable) return { args: this.args, kwargs: this.kwargs, options: merged };
    return { args: args.length ? [...args, ...this.args] : this.args, kwargs: Object.keys(kwargs).length ? { ...this.kwargs, ...kwargs } : this.kwargs, options: merged };
  }

  /**
   * @internal Makes this signature report its final result to a group/chord: the task that produces
   * it carries the group id, its index and the chord body. Returns the signature to send (a group
   * is first lifted into a chord so that it has one final task).
   */
  asMember(groupId: string, groupIndex: number | null, chord: SignatureDict | null): AnySignature {
    this.options.group_id = groupId;
    if (groupIndex !== null) this.options.group_index = groupIndex;
    if (chord) this.options.chord = chord;
    return this;
  }

  /**
   * A chain of this signature and `next` (Celery's `a | b`): `next` gets this one's result first.
   * Named pipe, not then, so that a signature is never mistaken for a promise.
   */
  pipe<S extends AnySignature>(next: S & StepFor<S, TResult>): Signature<[], ResultOf<S>, TMissing> {
    if (!makeChain) throw new Error('canvas/chain.ts is not loaded');
    return makeChain([this, next]) as Signature<[], ResultOf<S>, TMissing>;
  }

  /** Celery's dict form. */
  toDict(): SignatureDict {
    return { task: this.task, args: this.args, kwargs: this.kwargs, options: this.options, subtask_type: this.subtaskType, immutable: this.immutable, ...this.extras };
  }

  toJSON(): SignatureDict {
    return this.toDict();
  }

  toString(): string {
    return `${this.task}(${this.args.map((a) => JSON.stringify(a)).join(', ')})`;
  }
}

/** Set by chain.ts (Chain extends Signature, so signature.ts cannot import it). */
let makeChain: ((steps: AnySignature[]) => AnySignature) | undefined;

/** @internal */
export function setChainMaker(fn: (steps: AnySignature[]) => AnySignature): void {
  makeChain = fn;
}

/** @internal Options hold nested dicts (link, chord): copy them so a clone never shares them. */
export function copyOptions(options: WireOptions): WireOptions {
  return JSON.parse(JSON.stringify(options)) as WireOptions;
}
