/**
 * Celery's built-in tasks that travel on the wire (celery/app/builtins.py), so that messages Python
 * sends for its canvas run on our workers and ours run on Python's:
 * `celery.map`, `celery.starmap`, `celery.chunks`, `celery.accumulate`, `celery.chord_unlock`.
 * They read Python-style **kwargs from the request (task option rawKwargs).
 */
import { ChordError, DecodeError, NotRegisteredError } from '../errors';
import type { SignatureDict } from '../protocol/message-v2';
import { READY_STATES } from '../result/states';
import type { AnyTask, TaskFunction } from '../task/task';
import type { TaskContext } from '../task/task-context';
import type { TaskOptions } from '../task/task-options';
import { ChunksSignature } from './chunks';
import type { Workflow, WorkflowHost } from './workflow';

type Define = (name: string, fn: TaskFunction<never[], unknown>, options: TaskOptions) => unknown;

/** Positional argument `i`, or the keyword argument of that name (Python accepts both). */
function arg(ctx: TaskContext, i: number, name: string): unknown {
  return ctx.request.args.length > i ? ctx.request.args[i] : ctx.request.kwargs[name];
}

function localTask(host: WorkflowHost, sig: unknown): AnyTask {
  const name = sig && typeof sig === 'object' ? (sig as SignatureDict).task : sig;
  if (typeof name !== 'string') throw new DecodeError(`Expected a task signature, got ${JSON.stringify(sig)}`);
  const task = host.localTask(name);
  if (!task) throw new NotRegisteredError(name);
  return task;
}

function items(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) throw new DecodeError(`${what}: "it" must be a list, got ${JSON.stringify(value)}`);
  return value;
}

/** Collects the ids (and nested group members) of result tuples. */
function tupleIds(tuple: unknown, out: string[]): void {
  if (typeof tuple === 'string') out.push(tuple);
  else if (Array.isArray(tuple) && Array.isArray(tuple[0])) {
    if (Array.isArray(tuple[1])) for (const m of tuple[1] as unknown[]) tupleIds(m, out);
    else if (typeof tuple[0][0] === 'string') out.push(tuple[0][0]);
  }
}

export function registerBuiltinTasks(define: Define, host: WorkflowHost, workflow: () => Workflow): void {
  const raw = { rawKwargs: true } as const;

  define(
    'celery.map',
    async function (this: TaskContext) {
      const task = localTask(host, arg(this, 0, 'task'));
      const out: unknown[] = [];
      for (const item of items(arg(this, 1, 'it'), 'celery.map')) out.push(await task(item));
      return out;
    },
    raw,
  );

  define(
    'celery.starmap',
    async function (this: TaskContext) {
      const task = localTask(host, arg(this, 0, 'task'));
      const out: unknown[] = [];
      for (const item of items(arg(this, 1, 'it'), 'celery.starmap')) out.push(await task(...(Array.isArray(item) ? (item as unknown[]) : [item])));
      return out;
    },
    raw,
  );

  define(
    'celery.chunks',
    async function (this: TaskContext) {
      const chunks = new ChunksSignature(arg(this, 0, 'task') as SignatureDict, items(arg(this, 1, 'it'), 'celery.chunks') as unknown[][], Number(arg(this, 2, 'n')), {}, () => host);
      const result = await chunks.applyAsync();
      return result.id;
    },
    raw,
  );

  define(
    'celery.accumulate',
    function (this: TaskContext) {
      const index = this.request.kwargs.index;
      const args = this.request.args;
      return typeof index === 'number' ? args[index] : args;
    },
    raw,
  );

  // Joins a chord by polling, for result backends without a native join (Celery's unlock_chord).
  define(
    'celery.chord_unlock',
    async function (this: TaskContext) {
      const groupId = String(arg(this, 0, 'group_id'));
      const body = arg(this, 1, 'callback') as SignatureDict;
      const interval = typeof this.request.kwargs.interval === 'number' ? this.request.kwargs.interval : 1;
      const maxRetries = typeof this.request.kwargs.max_retries === 'number' ? this.request.kwargs.max_retries : null;
      const ids: string[] = [];
      for (const t of (this.request.kwargs.result as unknown[] | undefined) ?? []) tupleIds(t, ids);
      const backend = host.backendOrNull();
      if (!backend) throw new ChordError(`Chord ${groupId}: no result backend to read the header results from.`);
      const metas = await backend.getMetaMany(ids);
      if (!metas.every((m) => m && READY_STATES.has(m.status))) this.retry({ countdown: interval, maxRetries });
      await workflow().completeChord(
        body,
        metas.map((m, i) => ({ id: ids[i]!, state: m!.status, value: m!.result })),
        { parent_id: this.request.id, root_id: this.request.rootId },
      );
      return null;
    },
    { ...raw, maxRetries: null, ignoreResult: true },
  );
}
