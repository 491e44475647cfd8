/**
 * GroupResult: the results of a group, in the order the group listed its tasks (Celery's
 * GroupResult). `get()` waits for every member; `save()`/`GroupResult.restore()` use Celery's
 * `celery-taskset-meta-<id>` document so Python can restore ours and the other way round.
 */
import { ConfigError } from '../errors';
import { AsyncResult, type GetOptions, type ResultSource } from './async-result';
import { fromResultTuple } from './result-tuple';
import { FAILURE, PENDING, PROPAGATE_STATES, READY_STATES, SUCCESS, type TaskState } from './states';

export class GroupResult<T = unknown[]> extends AsyncResult<T> {
  constructor(
    id: string,
    readonly results: Array<AsyncResult<unknown>>,
    source: ResultSource | null,
  ) {
    super(id, source);
  }

  /** Restores a group saved with `save()` (by us or by Python's GroupResult.save()). */
  static async restore<T = unknown[]>(source: ResultSource, groupId: string): Promise<GroupResult<T> | null> {
    const tuple = await source.resultBackend().restoreGroup(groupId);
    if (tuple === null || tuple === undefined) return null;
    const restored = fromResultTuple(tuple, source);
    if (!(restored instanceof GroupResult)) throw new ConfigError('groupId', `celery-taskset-meta-${groupId} does not hold a group.`);
    return restored as GroupResult<T>;
  }

  /** Stores the group so `GroupResult.restore(app, id)` finds it. */
  async save(): Promise<void> {
    await this.backend().saveGroup(this);
  }

  /** Deletes the saved group and its members' results. */
  override async forget(): Promise<void> {
    await this.backend().forgetGroup(this.id);
    await Promise.all(this.results.map((r) => r.forget()));
  }

  /** Waits for every member and returns their values in order; throws the first failure (propagate). */
  override async get(options: GetOptions = {}): Promise<T> {
    const deadline = options.timeout === undefined ? undefined : Date.now() + options.timeout;
    const propagate = options.propagate ?? true;
    const values: unknown[] = new Array(this.results.length);
    // Waiting on all at once (one subscription each) and reporting failures in member order.
    const settled = await Promise.allSettled(
      this.results.map((r) => r.get({ ...options, timeout: deadline === undefined ? undefined : Math.max(0, deadline - Date.now()) })),
    );
    settled.forEach((s, i) => {
      if (s.status === 'fulfilled') values[i] = s.value;
      else if (propagate || !(s.reason instanceof Error) || s.reason.name === 'ResultTimeoutError') throw s.reason;
      else values[i] = s.reason;
    });
    return values as T;
  }

  /** Every member (nested groups included) is revoked. */
  override revokeIds(): string[] {
    return this.results.flatMap((r) => r.revokeIds());
  }

  /** Same as get() (Celery's join). */
  join(options: GetOptions = {}): Promise<T> {
    return this.get(options);
  }

  /** Every member's state (nested groups count as one member, with their derived state); plain members in one MGET. */
  async memberStates(): Promise<TaskState[]> {
    const states = new Array<TaskState>(this.results.length);
    const plain: number[] = [];
    await Promise.all(
      this.results.map(async (r, i) => {
        if (r.constructor === AsyncResult) plain.push(i);
        else states[i] = await r.state();
      }),
    );
    if (plain.length) {
      const metas = await this.backend().getMetaMany(plain.map((i) => this.results[i]!.id));
      plain.forEach((i, k) => (states[i] = metas[k]?.status ?? PENDING));
    }
    return states;
  }

  /** SUCCESS when all succeeded, FAILURE when one failed or was revoked, PENDING otherwise. */
  override async state(): Promise<TaskState> {
    const states = await this.memberStates();
    if (states.some((s) => PROPAGATE_STATES.has(s))) return FAILURE;
    return states.every((s) => s === SUCCESS) ? SUCCESS : PENDING;
  }

  /** True when every member is ready. */
  override async ready(): Promise<boolean> {
    return (await this.memberStates()).every((s) => READY_STATES.has(s));
  }

  /** True when every member succeeded. */
  override async successful(): Promise<boolean> {
    return (await this.memberStates()).every((s) => s === SUCCESS);
  }

  /** True when any member failed. */
  override async failed(): Promise<boolean> {
    return (await this.memberStates()).some((s) => s === FAILURE);
  }

  /** True when some member is not ready yet. */
  async waiting(): Promise<boolean> {
    return !(await this.ready());
  }

  /** How many members succeeded. */
  async completedCount(): Promise<number> {
    return (await this.memberStates()).filter((s) => s === SUCCESS).length;
  }

  /** Members first (each with what it spawned), then the group with every value. */
  override async *collect(options: GetOptions = {}): AsyncGenerator<[AsyncResult<unknown>, unknown]> {
    for (const member of this.results) yield* member.collect(options);
    yield [this, await this.get(options)];
  }

  override async result(): Promise<unknown> {
    throw new ConfigError('result', 'A GroupResult has no single value: use get() or read .results.');
  }

  override toString(): string {
    return `${this.id} [${this.results.map(String).join(', ')}]`;
  }
}
