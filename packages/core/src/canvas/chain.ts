/**
 * chain(a, b, c): runs tasks one after another, each getting the previous result prepended to its
 * arguments. Only the first task is sent; the rest travel in its message's `embed.chain`, reversed
 * (the next step is the last element), exactly as Celery does, so a Python worker can continue a
 * chain a Node client started and the other way round. The chain's result is its last task's, with
 * `.parent` leading back through the earlier steps.
 *
 * Built as Celery builds it: nested chains are flattened, and a group followed by another step becomes
 * a chord (the step receives the list of the group's results).
 */
import { ConfigError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import type { AsyncResult } from '../result/async-result';
import type { ApplyOptions } from '../task/task-options';
import { Chord } from './chord';
import { Group } from './group';
import { Signature, copyOptions, setChainMaker, type AnySignature, type HostRef, type SignatureInit } from './signature';
import type { WireOptions } from './signature-options';
import type { CheckChain, Last, MissingOf, ResultOf, StepFor } from './signature-types';

export class Chain<TResult = unknown, TMissing extends unknown[] = unknown[]> extends Signature<[], TResult, TMissing> {
  tasks: AnySignature[];

  constructor(tasks: readonly AnySignature[], options: WireOptions = {}, host?: HostRef, init: Partial<SignatureInit> = {}) {
    super({ ...init, task: 'celery.chain', args: [], kwargs: {}, options, subtaskType: 'chain' }, host ?? tasks.find((t) => t.hostOrUndefined())?.hostOrUndefined());
    this.tasks = prepareSteps(tasks);
  }

  override copy(): this {
    const Ctor = this.constructor as new (tasks: AnySignature[], options: WireOptions, host?: HostRef, init?: Partial<SignatureInit>) => this;
    return new Ctor(
      this.tasks.map((t) => t.copy()),
      copyOptions(this.options),
      this.hostRef,
      { immutable: this.immutable, extras: { ...this.extras } },
    );
  }

  override toDict(): SignatureDict {
    return { ...super.toDict(), kwargs: { ...this.kwargs, tasks: this.tasks.map((t) => t.toDict()) } };
  }

  /**
   * Adds a step (Celery's `chain | sig`); returns a new chain. Named pipe, not then: an object with a
   * `then` method is a thenable, and `await` on it would never settle.
   */
  override pipe<S extends AnySignature>(next: S & StepFor<S, TResult>): Chain<ResultOf<S>, TMissing> {
    return new Chain([...this.tasks, next], { ...this.options }, this.hostRef);
  }

  /** Callbacks of a chain run after its last task. */
  override link<C extends AnySignature>(callback: C): C {
    return this.lastStep().link(callback);
  }

  /** Errbacks of a chain run whichever step fails. */
  override onError<C extends AnySignature>(errback: C): C {
    for (const t of this.tasks) t.onError(errback);
    return errback;
  }

  /** Assigns every step's id; the chain's id is its last task's. */
  override freeze(id?: string): AsyncResult<TResult> {
    let previous: AsyncResult<unknown> | undefined;
    this.tasks.forEach((t, i) => {
      const r = t.freeze(i === this.tasks.length - 1 ? id : undefined);
      // A chord's result already has its header group as parent: link the top of that line instead.
      let top = r;
      const seen = new Set<string>();
      while (top.parent && !seen.has(top.id)) {
        seen.add(top.id);
        top = top.parent;
      }
      if (previous && top !== previous && !top.parent) top.parent = previous;
      previous = r;
    });
    return previous as AsyncResult<TResult>;
  }

  override asMember(groupId: string, groupIndex: number | null, chord: SignatureDict | null): AnySignature {
    this.tasks[this.tasks.length - 1] = this.lastStep().asMember(groupId, groupIndex, chord);
    return this;
  }

  override applyAsync(args?: TMissing | [], options?: ApplyOptions): Promise<AsyncResult<TResult>> {
    return super.applyAsync(args, options);
  }

  private lastStep(): AnySignature {
    const last = this.tasks.at(-1);
    if (!last) throw new ConfigError('chain', 'A chain needs at least one task.');
    return last;
  }

  override run(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    return this.copy().runCopy(args, kwargs, options);
  }

  private async runCopy(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    const host = this.host();
    this.lastStep();
    const { task_id: lastId, chain: outer, chord, group_id: groupId, group_index: groupIndex, link, link_error: linkError, ...shared } = { ...this.options, ...options };
    if (Array.isArray(link)) for (const l of link) this.lastStep().appendOption('link', l as SignatureDict);
    if (Array.isArray(linkError)) for (const l of linkError) for (const t of this.tasks) t.appendOption('link_error', l as SignatureDict);
    if (typeof groupId === 'string') this.asMember(groupId, typeof groupIndex === 'number' ? groupIndex : null, (chord as SignatureDict | undefined) ?? null);
    const result = this.freeze(typeof lastId === 'string' ? lastId : undefined);

    if (host.conf.taskAlwaysEager) {
      // Eager: run each step here, feeding results forward.
      let r = await this.tasks[0]!.run(args, kwargs, shared);
      for (const step of this.tasks.slice(1)) {
        const next = await step.run([await r.get()], {}, shared);
        next.parent = r;
        r = next;
      }
      return r;
    }
    const [first, ...rest] = this.tasks;
    // Popped from the end by the worker: the next step is the last element. An outer chain's steps come after ours.
    const embedded: SignatureDict[] = [...(Array.isArray(outer) ? (outer as SignatureDict[]) : []), ...rest.reverse().map((t) => t.toDict())];
    await first!.run(args, kwargs, { ...shared, chain: embedded });
    return result;
  }
}

/** Flattens nested chains and turns `group, next` into `chord(group, next)`, as Celery's prepare_steps. */
function prepareSteps(tasks: readonly AnySignature[]): AnySignature[] {
  const flat: AnySignature[] = [];
  for (const t of tasks) {
    if (t instanceof Chain && !t.immutable && !Object.keys(t.options).length) flat.push(...t.tasks);
    else flat.push(t);
  }
  // Right to left, as Celery: chain(g1, g2, c) is chord(g1, chord(g2, c)).
  const steps: AnySignature[] = [];
  for (let i = flat.length - 1; i >= 0; i--) {
    const t = flat[i]!;
    if (t instanceof Group && steps.length) steps.unshift(new Chord(t, steps.shift()!));
    else steps.unshift(t);
  }
  return steps;
}

/**
 * Chains signatures: each step gets the previous step's result as its first argument. Steps whose
 * first missing parameter does not accept the previous result fail to compile.
 * @example
 * const r = await chain(add.s(1, 2), add.s(3), mul.s(10)).applyAsync(); // mul(add(add(1, 2), 3), 10)
 * await r.get(); // 60
 */
export function chain<S extends [AnySignature, ...AnySignature[]]>(...steps: S & CheckChain<S>): Chain<ResultOf<Last<S>>, MissingOf<S[0]>> {
  return new Chain(steps as AnySignature[]);
}

setChainMaker((steps) => new Chain(steps));
