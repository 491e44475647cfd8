/**
 * AsyncResult<T>: the handle of a sent task. `get()` waits by subscription (no busy polling).
 * PENDING means "nothing stored": Celery cannot tell a queued id from an unknown one; with
 * `taskTrackSent` the producer stores PENDING on send, and `isKnown()` tells them apart.
 */
import type { ResultBackend } from '../backends/result-backend';
import { ConfigError, TaskRevokedError } from '../errors';
import { fromExceptionDict, isExceptionDict } from '../protocol/exception-codec';
import type { ResultMeta } from '../protocol/result-meta';
import { FAILURE, PENDING, PROPAGATE_STATES, READY_STATES, REVOKED, SUCCESS, type TaskState } from './states';

export interface GetOptions {
  /** Milliseconds to wait before ResultTimeoutError. Undefined waits forever. */
  timeout?: number;
  /** Throw the task's error for FAILURE/REVOKED. @defaultValue true */
  propagate?: boolean;
  /** Poll interval (ms) for backends without push notifications. */
  interval?: number;
  /** Called with each state seen while waiting (STARTED, RETRY, PROGRESS...). */
  onMessage?: (meta: ResultMeta) => void;
  signal?: AbortSignal;
}

/** Where results come from. Implemented by the app. */
export interface ResultSource {
  resultBackend(): ResultBackend;
  /** Broadcasts a revoke to every worker (app.control.revoke). */
  revokeTasks?(ids: readonly string[], options: { terminate?: boolean; signal?: string }): Promise<void>;
}

/** Set by result-tuple.ts (it builds GroupResults, which extend this class, so it cannot be imported here). */
let readTuple: ((tuple: unknown, source: ResultSource | null) => AsyncResult<unknown>) | undefined;

/** @internal */
export function setResultTupleReader(fn: (tuple: unknown, source: ResultSource | null) => AsyncResult<unknown>): void {
  readTuple = fn;
}

export class AsyncResult<T = unknown> {
  /** The result of the task before this one in a chain (set by the client that sent the chain). */
  parent: AsyncResult<unknown> | undefined;

  constructor(
    readonly id: string,
    protected readonly source: ResultSource | null,
  ) {}

  protected backend(): ResultBackend {
    if (!this.source) throw new ConfigError('resultBackend', 'This result has no app; create it with app.asyncResult(id).');
    return this.source.resultBackend();
  }

  /** The stored record, or null when nothing is stored (PENDING). */
  async meta(): Promise<ResultMeta | null> {
    return this.backend().getMeta(this.id);
  }

  /** Waits for the task to finish and returns its value (or throws its error). */
  async get(options: GetOptions = {}): Promise<T> {
    const meta = await this.backend().waitFor(this.id, {
      timeoutMs: options.timeout,
      onMessage: options.onMessage,
      intervalMs: options.interval,
      signal: options.signal,
    });
    return this.unwrap(meta, options.propagate ?? true);
  }

  protected unwrap(meta: ResultMeta, propagate: boolean): T {
    if (PROPAGATE_STATES.has(meta.status)) {
      const error = meta.status === REVOKED ? revokedError(meta) : fromExceptionDict(meta.result, meta.traceback, this.id);
      if (propagate) throw error;
      return error as unknown as T;
    }
    return meta.result as T;
  }

  /** PENDING, STARTED, SUCCESS, FAILURE, RETRY, REVOKED or a custom state. */
  async state(): Promise<TaskState> {
    return (await this.meta())?.status ?? PENDING;
  }

  /** True when a record exists for this id (it ran, or was sent with taskTrackSent). */
  async isKnown(): Promise<boolean> {
    return (await this.meta()) !== null;
  }

  async ready(): Promise<boolean> {
    return READY_STATES.has(await this.state());
  }

  async successful(): Promise<boolean> {
    return (await this.state()) === SUCCESS;
  }

  async failed(): Promise<boolean> {
    return (await this.state()) === FAILURE;
  }

  /** The stored value: the return value, the error for failures, the meta of custom states. */
  async result(): Promise<unknown> {
    const meta = await this.meta();
    if (!meta) return null;
    if (isExceptionDict(meta.result)) return fromExceptionDict(meta.result, meta.traceback, this.id);
    return meta.result;
  }

  async traceback(): Promise<string | null> {
    return (await this.meta())?.traceback ?? null;
  }

  /** When the task finished (UTC), or null. */
  async dateDone(): Promise<Date | null> {
    const done = (await this.meta())?.dateDone;
    if (!done) return null;
    return new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(done) ? done : done + 'Z');
  }

  /**
   * Revokes the task on every worker: it will not start (REVOKED is stored); with `terminate` a
   * running one is stopped too (its AbortSignal fires).
   */
  async revoke(options: { terminate?: boolean; signal?: string } = {}): Promise<void> {
    if (!this.source?.revokeTasks) throw new ConfigError('revoke', 'This result has no app to revoke through; create it with app.asyncResult(id).');
    await this.source.revokeTasks(this.revokeIds(), options);
  }

  /** @internal The ids a revoke covers (a group: its members). */
  revokeIds(): string[] {
    return [this.id];
  }

  /** Deletes the stored result. */
  async forget(): Promise<void> {
    await this.backend().forget(this.id);
  }

  /**
   * Results of the tasks this task sent (chain next step, callbacks, tasks sent from its code), from
   * the stored `children`; empty until it has finished.
   */
  async children(): Promise<Array<AsyncResult<unknown>>> {
    const meta = await this.meta();
    if (!meta?.children?.length) return [];
    if (!readTuple) throw new ConfigError('children', 'Result tuples cannot be read: import @celeriac/core, not a single file of it.');
    const read = readTuple;
    return meta.children.map((tuple) => read(tuple, this.source));
  }

  /**
   * Walks this result and every result it spawned (children, then theirs), waiting for each, and
   * yields `[result, value]` pairs, parents first (Celery's `collect()`).
   */
  async *collect(options: GetOptions = {}): AsyncGenerator<[AsyncResult<unknown>, unknown]> {
    const value = await this.get(options);
    yield [this, value];
    for (const child of await this.children()) yield* child.collect(options);
  }

  toString(): string {
    return this.id;
  }
}

function revokedError(meta: ResultMeta): TaskRevokedError {
  const r = meta.result as { exc_message?: unknown } | null;
  const reason = Array.isArray(r?.exc_message) ? String(r.exc_message[0]) : 'revoked';
  return new TaskRevokedError(reason);
}
