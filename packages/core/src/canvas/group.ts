/**
 * group(tasks): runs tasks in parallel; its result is a GroupResult with their values in order.
 * Dict form: `{task: "celery.group", kwargs: {tasks: [...]}, subtask_type: "group"}`.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import type { AsyncResult } from '../result/async-result';
import type { ApplyOptions } from '../task/task-options';
import { GroupResult } from '../result/group-result';
import type { CanvasHost, TaskSend } from './canvas-host';
import { Signature, copyOptions, type AnySignature, type HostRef, type SignatureInit } from './signature';
import type { WireOptions } from './signature-options';
import type { ResultOf } from './signature-types';

/** The results of a list of signatures, as a tuple when the list is one. */
export type ResultsOf<S extends readonly unknown[]> = { -readonly [K in keyof S]: ResultOf<S[K]> };

/** Options that belong to the group itself and are not passed on to its members. */
const GROUP_ONLY = ['task_id', 'chain', 'chord', 'group_id', 'group_index', 'link', 'link_error'];

export class Group<TResults = unknown[]> extends Signature<[], TResults, unknown[]> {
  tasks: AnySignature[];

  constructor(tasks: readonly AnySignature[], options: WireOptions = {}, host?: HostRef, init: Partial<SignatureInit> = {}) {
    super({ ...init, task: 'celery.group', args: [], kwargs: {}, options, subtaskType: 'group' }, host ?? tasks.find((t) => t.hostOrUndefined())?.hostOrUndefined());
    this.tasks = [...tasks];
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

  override toDict() {
    return { ...super.toDict(), kwargs: { ...this.kwargs, tasks: this.tasks.map((t) => t.toDict()) } };
  }

  /** Celery links a group's callback to its first task, made immutable (use a chord to get every result). */
  override link<C extends AnySignature>(callback: C): C {
    if (!this.tasks.length) throw new ConfigError('link', 'Cannot link a callback to an empty group.');
    this.tasks[0]!.link(callback.clone().setImmutable(true));
    return callback;
  }

  /** The errback runs for any member that fails. */
  override onError<C extends AnySignature>(errback: C): C {
    for (const t of this.tasks) t.onError(errback.clone().setImmutable(true));
    return errback;
  }

  override freeze(id?: string): GroupResult<TResults> {
    if (id !== undefined) this.options.task_id = id;
    else if (this.id === undefined) this.options.task_id = randomUUID();
    const members = this.tasks.map((t) => t.freeze());
    return new GroupResult<TResults>(this.id!, members, this.hostRef ? this.hostRef() : null);
  }

  /** A group that is a chord member is lifted to `chord(group, celery.accumulate(index=0))`, so one task reports its list. */
  override asMember(groupId: string, groupIndex: number | null, chord: SignatureDict | null): AnySignature {
    return liftToChord(this).asMember(groupId, groupIndex, chord);
  }

  override applyAsync(args?: unknown[], options?: ApplyOptions): Promise<GroupResult<TResults>> {
    return super.applyAsync(args, options) as Promise<GroupResult<TResults>>;
  }

  override async run(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    const host = this.host();
    const merged = { ...this.options, ...options };
    const groupId = typeof merged.task_id === 'string' ? merged.task_id : randomUUID();
    const shared: WireOptions = {};
    for (const [k, v] of Object.entries(merged)) if (!GROUP_ONLY.includes(k)) shared[k] = v;
    const results = new Array<AsyncResult<unknown>>(this.tasks.length);
    if (host.conf.taskAlwaysEager) {
      for (const [i, t] of this.tasks.entries()) results[i] = await t.run(args, kwargs, { ...shared, group_id: groupId });
      return new GroupResult(groupId, results, host);
    }
    // Plain members go out in one pipelined send; complex ones (chains, chords...) one by one.
    const sends: TaskSend[] = [];
    const plainIndex: number[] = [];
    const plain = new Set<number>();
    for (const [i, t] of this.tasks.entries()) {
      if (t.subtaskType === null || t.subtaskType === 'xmap' || t.subtaskType === 'xstarmap') {
        sends.push(t.prepareSend(args, kwargs, { ...shared, group_id: groupId, task_id: t.id ?? randomUUID() }));
        plainIndex.push(i);
        plain.add(i);
      }
    }
    for (const [i, t] of this.tasks.entries()) {
      if (!plain.has(i)) results[i] = await t.run(args, kwargs, shared);
    }
    const sent = await sendInChunks(host, sends);
    plainIndex.forEach((i, k) => (results[i] = sent[k]!));
    return new GroupResult(groupId, results, host);
  }
}

/** Sends in slices so a 10,000-task group does not build one giant pipeline. */
async function sendInChunks(host: CanvasHost, sends: TaskSend[]): Promise<Array<AsyncResult<unknown>>> {
  const out: Array<AsyncResult<unknown>> = [];
  for (let i = 0; i < sends.length; i += 1000) out.push(...(await host.sendTasks(sends.slice(i, i + 1000))));
  return out;
}

/** Set by chord.ts (a group lifted into a chord needs the Chord class; importing it here would be circular). */
let lift: ((group: Group<unknown>) => AnySignature) | undefined;

/** @internal */
export function setGroupLifter(fn: (group: Group<unknown>) => AnySignature): void {
  lift = fn;
}

function liftToChord(group: Group<unknown>): AnySignature {
  if (!lift) throw new Error('canvas/chord.ts is not loaded');
  return lift(group);
}

/**
 * Runs signatures in parallel; the result is a GroupResult whose get() gives their values in order.
 * @example
 * const r = await group([add.s(1, 1), add.s(2, 2)]).applyAsync();
 * await r.get(); // [2, 4]
 */
export function group<S extends AnySignature[]>(tasks: readonly [...S]): Group<ResultsOf<S>>;
export function group<S extends AnySignature[]>(...tasks: S): Group<ResultsOf<S>>;
export function group(...tasks: unknown[]): Group<unknown[]> {
  const list = tasks.length === 1 && Array.isArray(tasks[0]) ? (tasks[0] as AnySignature[]) : (tasks as AnySignature[]);
  return new Group(list);
}
