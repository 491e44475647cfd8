/**
 * What a worker does for the canvas once a task has finished (celery-wire.md §2.5, §5.4):
 * - success: apply `embed.callbacks` and the next `embed.chain` step with the result prepended;
 * - chord member: add the result to the chord's join; the member that completes it sends the body,
 *   or fails it with a ChordError when a member failed;
 * - failure: report to the chord, mark the rest of the chain failed (so waiting on the chain's
 *   result ends), and call errbacks: new style `(request, error, traceback)` in-process for local
 *   tasks that take more than one argument, old style (the failed task's id) as messages.
 */
import { ChordError, toError } from '../errors';
import type { Logger } from '../logging/logger';
import { fromExceptionDict, isExceptionDict, toExceptionDict } from '../protocol/exception-codec';
import type { SignatureDict, TaskMessage } from '../protocol/message-v2';
import { pythonRepr } from '../protocol/repr';
import { dateDoneNow } from '../protocol/result-meta';
import type { AsyncResult } from '../result/async-result';
import { toResultTuple, type ResultTuple } from '../result/result-tuple';
import { FAILURE, PROPAGATE_STATES } from '../result/states';
import type { TaskRequest } from '../task/task-context';
import type { CanvasHost } from './canvas-host';
import { Chain } from './chain';
import { Chord } from './chord';
import { signatureFromDict } from './from-dict';
import { Group } from './group';
import type { AnySignature } from './signature';
import type { WireOptions } from './signature-options';

export interface WorkflowHost extends CanvasHost {
  readonly logger: Logger;
}

/** True when a finished task has canvas work to do. */
export function hasWorkflow(message: TaskMessage): boolean {
  const e = message.embed;
  return !!(e.callbacks?.length || e.chain?.length || e.errbacks?.length || (message.group && e.chord));
}

/** The part of a failed task's request an errback gets, for tasks that never ran (a chord body). */
function syntheticRequest(sig: AnySignature): TaskRequest {
  const id = sig.id ?? '';
  return {
    id,
    name: sig.task,
    args: sig.args,
    kwargs: sig.kwargs,
    retries: 0,
    eta: null,
    expires: null,
    hostname: '',
    rootId: (sig.options.root_id as string | undefined) ?? id,
    parentId: (sig.options.parent_id as string | undefined) ?? null,
    groupId: (sig.options.group_id as string | undefined) ?? null,
    groupIndex: (sig.options.group_index as number | undefined) ?? null,
    correlationId: id,
    replyTo: null,
    origin: '',
    timeLimit: [null, null],
    ignoreResult: false,
    headers: {},
    deliveryInfo: null,
    isEager: false,
    callbacks: null,
    errbacks: null,
    chain: null,
    chord: null,
  };
}

export class Workflow {
  constructor(private readonly host: WorkflowHost) {}

  private sig(dict: SignatureDict | AnySignature): AnySignature {
    return signatureFromDict(dict, () => this.host);
  }

  /** Sends callbacks and the next chain step; returns the result tuples for the stored `children`. */
  async afterSuccess(message: TaskMessage, retval: unknown): Promise<ResultTuple[]> {
    const ids: WireOptions = { parent_id: message.id, root_id: message.rootId };
    const sent: Array<AsyncResult<unknown>> = [];
    const callbacks = message.embed.callbacks ?? [];
    if (callbacks.length === 1) {
      sent.push(await this.sig(callbacks[0]!).run([retval], {}, ids));
    } else if (callbacks.length > 1) {
      // Celery sends several callbacks as one group (groups among them on their own).
      const sigs = callbacks.map((c) => this.sig(c));
      for (const g of sigs.filter((s) => s instanceof Group)) sent.push(await g.run([retval], {}, ids));
      const plain = sigs.filter((s) => !(s instanceof Group));
      if (plain.length) sent.push(await new Group(plain, {}, () => this.host).run([retval], {}, ids));
    }
    const chain = message.embed.chain;
    if (chain?.length) {
      const rest = [...chain];
      const next = rest.pop()!;
      sent.push(await this.sig(next).run([retval], {}, { ...ids, chain: rest }));
    }
    return sent.map(toResultTuple);
  }

  /** A chord header task's final state (SUCCESS value or FAILURE exception dict) into the join. */
  async chordPart(groupId: string, groupIndex: number | null, taskId: string, body: SignatureDict, state: string, value: unknown, ids: WireOptions): Promise<void> {
    const backend = this.host.backendOrNull();
    // Without a result backend there is no chord; without native join celery.chord_unlock polls.
    if (!backend?.chordPartReturn) return;
    const entries = await backend.chordPartReturn(groupId, groupIndex, [1, taskId, state, value]);
    if (entries) await this.completeChord(body, entries.map((e) => ({ id: e[1], state: e[2], value: e[3] })), ids);
  }

  /** Sends the body with every header value, or fails it when a header task failed. */
  async completeChord(bodyDict: SignatureDict, members: Array<{ id: string; state: string; value: unknown }>, ids: WireOptions): Promise<void> {
    const body = this.sig(bodyDict);
    const failed = members.find((m) => PROPAGATE_STATES.has(m.state));
    if (failed) {
      await this.failSignature(body, new ChordError(`Dependency ${failed.id} raised ${excRepr(failed.value)}`), null, true);
      return;
    }
    // Ids the body already carries win (a chord run as a chain step has the step as parent, as
    // Celery's send_task keeps a given parent_id); otherwise the task that completed the join.
    for (const key of ['parent_id', 'root_id'] as const) if (body.options[key] === undefined || body.options[key] === null) body.options[key] = ids[key];
    try {
      await body.run([members.map((m) => m.value)], {}, {});
    } catch (err) {
      this.host.logger.error({ err, body: bodyDict.task }, `Chord body ${bodyDict.task} could not be sent`);
      await this.failSignature(body, new ChordError(`Callback error: ${toError(err).message}`), null, true);
    }
  }

  /** Fails a chord's body when its join itself broke (the backend refused, the body could not be read). */
  async failChordBody(bodyDict: SignatureDict, cause: unknown): Promise<void> {
    await this.failSignature(this.sig(bodyDict), new ChordError(`Chord join failed: ${toError(cause).message}`), null, true);
  }

  /** After a final FAILURE (or REVOKED): chord join, the rest of the chain, errbacks. */
  async afterFailure(message: TaskMessage, request: TaskRequest, error: unknown, traceback: string | null, state: string = FAILURE): Promise<void> {
    const ids: WireOptions = { parent_id: message.id, root_id: message.rootId };
    if (message.group && message.embed.chord) {
      await this.chordPart(message.group, message.groupIndex, message.id, message.embed.chord, state, toExceptionDict(error), ids);
    }
    for (const step of message.embed.chain ?? []) await this.failSignature(this.sig(step), error, traceback, false);
    await this.callErrbacks(message.embed.errbacks ?? [], request, error, traceback);
  }

  /**
   * Marks a signature that will never run as failed: its result (or its final task's), the chord it
   * belongs to, what is chained after it, and (withErrbacks) its errbacks.
   */
  async failSignature(sig: AnySignature, error: unknown, traceback: string | null, withErrbacks: boolean): Promise<void> {
    if (sig instanceof Chain) {
      for (const [i, t] of sig.tasks.entries()) await this.failSignature(t, error, traceback, withErrbacks && i === 0);
      return;
    }
    if (sig instanceof Chord) {
      await this.failSignature(sig.body, error, traceback, withErrbacks);
      return;
    }
    if (sig instanceof Group) {
      for (const t of sig.tasks) await this.failSignature(t, error, traceback, withErrbacks);
      return;
    }
    const id = sig.id;
    const backend = this.host.backendOrNull();
    if (id && backend) {
      await backend.storeResult({
        taskId: id,
        status: FAILURE,
        result: toExceptionDict(error),
        traceback,
        children: [],
        dateDone: dateDoneNow(),
        ...(typeof sig.options.group_id === 'string' ? { groupId: sig.options.group_id } : {}),
        ...(typeof sig.options.parent_id === 'string' ? { parentId: sig.options.parent_id } : {}),
        ...(typeof sig.options.reply_to === 'string' ? { replyTo: sig.options.reply_to, correlationId: id } : {}),
      });
    }
    const chord = sig.options.chord as SignatureDict | undefined;
    if (id && chord && typeof sig.options.group_id === 'string') {
      await this.chordPart(sig.options.group_id, typeof sig.options.group_index === 'number' ? sig.options.group_index : null, id, chord, FAILURE, toExceptionDict(error), {
        parent_id: id,
        root_id: sig.options.root_id ?? id,
      });
    }
    const chain = sig.options.chain;
    if (Array.isArray(chain)) for (const step of chain as SignatureDict[]) await this.failSignature(this.sig(step), error, traceback, false);
    if (withErrbacks) {
      const errbacks = sig.options.link_error;
      await this.callErrbacks(Array.isArray(errbacks) ? (errbacks as SignatureDict[]) : errbacks ? [errbacks as SignatureDict] : [], syntheticRequest(sig), error, traceback);
    }
  }

  /**
   * New-style errbacks (a local task taking 2+ parameters) run here with (request, error, traceback);
   * the rest are sent as one group with the failed task's id as their argument, as Celery does.
   */
  async callErrbacks(errbacks: ReadonlyArray<SignatureDict | AnySignature>, request: TaskRequest, error: unknown, traceback: string | null): Promise<void> {
    if (!errbacks.length) return;
    const oldStyle: AnySignature[] = [];
    for (const dict of errbacks) {
      const sig = this.sig(dict);
      const local = sig.subtaskType === null && !sig.immutable ? this.host.localTask(sig.task) : undefined;
      const arity = local ? (local.params?.length ?? local.fn.length) : 0;
      if (local && arity > 1) {
        try {
          await local(request, toError(error), traceback, ...sig.args);
        } catch (err) {
          this.host.logger.error({ err, errback: sig.task, id: request.id }, `Errback ${sig.task} for task ${request.id} raised: ${toError(err).message}`);
        }
      } else oldStyle.push(sig);
    }
    if (oldStyle.length) {
      await new Group(oldStyle, {}, () => this.host).run([request.id], {}, { parent_id: request.id, root_id: request.rootId ?? request.id });
    }
  }
}

/** Python's repr of a stored exception: `ValueError('boom')`. */
function excRepr(value: unknown): string {
  if (isExceptionDict(value)) {
    const args = Array.isArray(value.exc_message) ? value.exc_message : [value.exc_message];
    return `${value.exc_type}(${args.map((a) => pythonRepr(a)).join(', ')})`;
  }
  const err = value instanceof Error ? value : fromExceptionDict(value, null, '');
  return `${err.name}(${pythonRepr(err.message)})`;
}

