/**
 * map / starmap / chunks: many calls of one task in few messages (Celery's xmap, xstarmap, chunks).
 * `task.map(items)` is one `celery.map` message whose worker calls the task once per item;
 * `task.starmap(argLists)` the same with argument lists; `task.chunks(argLists, n)` splits the list
 * into groups of n, one `celery.starmap` message each, run in parallel as a group.
 */
import { ConfigError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import type { AsyncResult } from '../result/async-result';
import type { GroupResult } from '../result/group-result';
import type { ApplyOptions } from '../task/task-options';
import { Group } from './group';
import { Signature, copyOptions, type AnySignature, type HostRef, type SignatureInit } from './signature';
import type { WireOptions } from './signature-options';

/** `celery.map` (subtask_type "xmap") or `celery.starmap` ("xstarmap"): one message, the task called per item. */
export class MapSignature<TResult = unknown[]> extends Signature<[], TResult, []> {
  constructor(kind: 'xmap' | 'xstarmap', task: AnySignature | SignatureDict, items: readonly unknown[], options: WireOptions = {}, host?: HostRef, init: Partial<SignatureInit> = {}) {
    const dict = task instanceof Signature ? task.toDict() : task;
    super(
      { ...init, task: kind === 'xmap' ? 'celery.map' : 'celery.starmap', args: [], kwargs: { task: dict, it: [...items] }, options, subtaskType: kind },
      host ?? (task instanceof Signature ? task.hostOrUndefined() : undefined),
    );
  }

  override copy(): this {
    const Ctor = this.constructor as new (kind: string, task: SignatureDict, items: unknown[], options: WireOptions, host?: HostRef, init?: Partial<SignatureInit>) => this;
    return new Ctor(this.subtaskType!, this.kwargs.task as SignatureDict, this.kwargs.it as unknown[], copyOptions(this.options), this.hostRef, {
      immutable: this.immutable,
      extras: { ...this.extras },
    });
  }

  override applyAsync(args?: [], options?: ApplyOptions): Promise<AsyncResult<TResult>> {
    return super.applyAsync(args, options);
  }
}

/** `celery.chunks` (subtask_type "chunks"): the items split into groups of `n`, each a starmap. */
export class ChunksSignature<TResult = unknown[][]> extends Signature<[], TResult, []> {
  constructor(task: AnySignature | SignatureDict, items: readonly unknown[][], n: number, options: WireOptions = {}, host?: HostRef, init: Partial<SignatureInit> = {}) {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError('chunks', `chunks() needs a chunk size n >= 1, got ${n}.`);
    const dict = task instanceof Signature ? task.toDict() : task;
    super(
      { ...init, task: 'celery.chunks', args: [], kwargs: { task: dict, it: [...items], n }, options, subtaskType: 'chunks' },
      host ?? (task instanceof Signature ? task.hostOrUndefined() : undefined),
    );
  }

  override copy(): this {
    const Ctor = this.constructor as new (task: SignatureDict, items: unknown[][], n: number, options: WireOptions, host?: HostRef, init?: Partial<SignatureInit>) => this;
    return new Ctor(this.kwargs.task as SignatureDict, this.kwargs.it as unknown[][], this.kwargs.n as number, copyOptions(this.options), this.hostRef, {
      immutable: this.immutable,
      extras: { ...this.extras },
    });
  }

  /** The group of starmap messages this becomes, one per chunk. */
  group(): Group<TResult> {
    const items = this.kwargs.it as unknown[][];
    const n = this.kwargs.n as number;
    const parts: AnySignature[] = [];
    for (let i = 0; i < items.length; i += n) parts.push(new MapSignature('xstarmap', this.kwargs.task as SignatureDict, items.slice(i, i + n), {}, this.hostRef));
    return new Group<TResult>(parts, { ...this.options }, this.hostRef);
  }

  override run(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    return this.group().run(args, kwargs, options);
  }

  override freeze(id?: string): GroupResult<TResult> {
    return this.group().freeze(id);
  }

  override applyAsync(args?: [], options?: ApplyOptions): Promise<GroupResult<TResult>> {
    return super.applyAsync(args, options) as Promise<GroupResult<TResult>>;
  }
}
