/**
 * chord(header, body): runs the header group, then the body once with the header's results in order.
 * Dict form: `{task: "celery.chord", kwargs: {header: <group>, body: <sig>, kwargs: {}}, subtask_type: "chord"}`.
 *
 * Joining (celery-wire.md §5.4): with a backend that joins natively (Redis, memory) the client stores
 * the header size under `celery-taskset-meta-<group>.s` and each header task adds its result to
 * `.j`; the one that completes it sends the body. Other backends get Celery's `celery.chord_unlock`
 * task, which polls. Each header member reports exactly once: a chain through its last task, a
 * nested chord through its body, a nested group lifted to `chord(group, celery.accumulate)`.
 */
import { randomUUID } from 'node:crypto';
import { ConfigError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import type { AsyncResult } from '../result/async-result';
import { type GroupResult } from '../result/group-result';
import { toResultTuple } from '../result/result-tuple';
import type { ApplyOptions } from '../task/task-options';
import { Group, setGroupLifter, type ResultsOf } from './group';
import { Signature, copyOptions, type AnySignature, type HostRef, type SignatureInit } from './signature';
import type { WireOptions } from './signature-options';
import type { ChainStepMismatch, MissingOf, ResultOf } from './signature-types';

/** Seconds between `celery.chord_unlock` polls (Celery's result_chord_retry_interval). */
const CHORD_UNLOCK_INTERVAL = 1;

export class Chord<TResult = unknown, TMissing extends unknown[] = unknown[]> extends Signature<[], TResult, TMissing> {
  header: Group<unknown>;
  body: AnySignature;

  constructor(header: Group<unknown> | readonly AnySignature[], body: AnySignature, options: WireOptions = {}, host?: HostRef, init: Partial<SignatureInit> = {}) {
    const group = header instanceof Group ? header : new Group(header);
    super(
      { ...init, task: 'celery.chord', args: [], kwargs: init.kwargs ?? {}, options, subtaskType: 'chord' },
      host ?? group.hostOrUndefined() ?? body.hostOrUndefined(),
    );
    this.header = group;
    this.body = body;
  }

  override copy(): this {
    const Ctor = this.constructor as new (h: Group<unknown>, b: AnySignature, o: WireOptions, host?: HostRef, init?: Partial<SignatureInit>) => this;
    return new Ctor(this.header.copy(), this.body.copy(), copyOptions(this.options), this.hostRef, {
      kwargs: { ...this.kwargs },
      immutable: this.immutable,
      extras: { ...this.extras },
    });
  }

  override toDict(): SignatureDict {
    const { header: _h, body: _b, ...rest } = this.kwargs;
    return { ...super.toDict(), kwargs: { kwargs: {}, ...rest, header: this.header.toDict(), body: this.body.toDict() } };
  }

  /** Callbacks of a chord run after its body. */
  override link<C extends AnySignature>(callback: C): C {
    return this.body.link(callback);
  }

  /** Errbacks of a chord belong to its body (Celery's default; a header failure fails the body). */
  override onError<C extends AnySignature>(errback: C): C {
    return this.body.onError(errback);
  }

  override freeze(id?: string): AsyncResult<TResult> {
    const groupId = (this.header.options.task_id as string | undefined) ?? randomUUID();
    const headerResult = this.header.freeze(groupId);
    const bodyResult = this.body.freeze(id);
    bodyResult.parent = headerResult;
    return bodyResult as AsyncResult<TResult>;
  }

  override asMember(groupId: string, groupIndex: number | null, chord: SignatureDict | null): AnySignature {
    this.body = this.body.asMember(groupId, groupIndex, chord);
    return this;
  }

  override run(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    return this.copy().runCopy(args, kwargs, options);
  }

  override applyAsync(args?: TMissing | [], options?: ApplyOptions): Promise<AsyncResult<TResult>> {
    return super.applyAsync(args, options);
  }

  private async runCopy(args: unknown[], kwargs: Record<string, unknown>, options: WireOptions): Promise<AsyncResult<unknown>> {
    const host = this.host();
    // Only a task id given with the call names the body; the chord's own options.task_id is its group
    // id (Celery's chord.freeze sets it so), which Celery's chord.run drops too.
    const bodyId = options.task_id;
    const { task_id: _ownId, chain, chord: outerChord, group_id: outerGroup, group_index: outerIndex, link, link_error: linkError, ...shared } = { ...this.options, ...options };
    if (host.conf.taskAlwaysEager) {
      const headerResult = await this.header.run(args, kwargs, shared);
      const values = await headerResult.get();
      const bodyResult = await this.body.run([values], {}, shared);
      bodyResult.parent = headerResult;
      return bodyResult;
    }
    const backend = host.backendOrNull();
    if (!backend) throw new ConfigError('resultBackend', 'A chord needs a result backend to join its header: set resultBackend (redis://, memory://).');
    if (backend.supportsChords === false) throw new ConfigError('resultBackend', 'The rpc:// result backend cannot join chords (as in Celery): use the Redis result backend for chords.');

    // The body carries what follows the chord: the rest of a chain, callbacks, an outer chord's membership.
    let body = this.body;
    if (Array.isArray(chain) && chain.length) body.options.chain = chain;
    for (const l of asList(link)) body.appendOption('link', l as SignatureDict);
    for (const l of asList(linkError)) body.appendOption('link_error', l as SignatureDict);
    if (typeof outerGroup === 'string') body = body.asMember(outerGroup, typeof outerIndex === 'number' ? outerIndex : null, (outerChord as SignatureDict | undefined) ?? null);
    for (const key of ['parent_id', 'root_id'] as const) if (shared[key] !== undefined && body.options[key] === undefined) body.options[key] = shared[key];
    const bodyResult = body.freeze(typeof bodyId === 'string' ? bodyId : undefined);

    const groupId = (this.header.options.task_id as string | undefined) ?? randomUUID();
    const bodyDict = body.toDict();
    const members = this.header.tasks.map((m, i) => m.asMember(groupId, i, bodyDict));
    const header = new Group(members, { task_id: groupId }, this.hostRef);
    const frozen = header.freeze(groupId);
    bodyResult.parent = frozen;

    if (!members.length) {
      // No header task will ever complete the chord: run the body now with an empty list.
      await body.run([[]], {}, {});
      return bodyResult;
    }
    if (backend.setChordSize) {
      await backend.setChordSize(groupId, members.length);
    } else {
      await host.sendTasks([
        {
          name: 'celery.chord_unlock',
          args: [groupId, bodyDict],
          kwargs: { interval: CHORD_UNLOCK_INTERVAL, max_retries: null, result: frozen.results.map(toResultTuple) },
          options: { countdown: CHORD_UNLOCK_INTERVAL, parentId: shared.parent_id as string | undefined, rootId: shared.root_id as string | undefined },
          embed: {},
        },
      ]);
    }
    const sent = (await header.run(args, kwargs, shared)) as GroupResult<unknown>;
    bodyResult.parent = sent;
    return bodyResult;
  }
}

function asList(v: unknown): unknown[] {
  if (v === undefined || v === null) return [];
  return Array.isArray(v) ? v : [v];
}

/** `chord(group, celery.accumulate(index=0))`: a group with one final task, whose result is the group's list. */
export function liftGroupToChord(group: Group<unknown>): Chord<unknown[], []> {
  const host = group.hostOrUndefined();
  return new Chord(group, new Signature({ task: 'celery.accumulate', kwargs: { index: 0 } }, host), {}, host);
}

setGroupLifter(liftGroupToChord);

/** The body's first missing argument must accept the header's list of results. */
type BodyFor<B, Results> = MissingOf<B> extends [infer First, ...unknown[]] ? ([Results] extends [First] ? B : ChainStepMismatch<Results, First>) : B;

/**
 * Runs the header in parallel, then the body once with the header's results (in header order) as
 * its first argument. A failing header task fails the body with a ChordError.
 * @example
 * const r = await chord([add.s(1, 1), add.s(2, 2)], xsum.s()).applyAsync();
 * await r.get(); // 6
 */
export function chord<H extends AnySignature[], B extends AnySignature>(header: readonly [...H], body: B & BodyFor<B, ResultsOf<H>>): Chord<ResultOf<B>, []>;
export function chord<R, B extends AnySignature>(header: Group<R>, body: B & BodyFor<B, R>): Chord<ResultOf<B>, []>;
export function chord(header: Group<unknown> | readonly AnySignature[], body: AnySignature): Chord<unknown, []> {
  return new Chord(header, body);
}
