/**
 * The result backend interface. `KeyValueResultBackend` implements it once over a small key-value
 * store; Redis and memory supply the store.
 */
import type { ResultMeta } from '../protocol/result-meta';
import type { GroupResult } from '../result/group-result';

/** One header task's entry in a chord join: `[1, task id, state, value or exception dict]`, as Celery. */
export type ChordEntry = [number, string, string, unknown];

export interface WaitOptions {
  /** Give up after this many ms (ResultTimeoutError). Undefined waits forever. */
  timeoutMs?: number;
  /** Called with every state seen while waiting (STARTED, RETRY, PROGRESS...). */
  onMessage?: (meta: ResultMeta) => void;
  /** Poll interval for stores without push notifications, ms. @defaultValue 500 */
  intervalMs?: number;
  signal?: AbortSignal;
}

export interface StoreOptions {
  /** Keep a stored SUCCESS (Celery's dedup protection). @defaultValue true */
  keepSuccess?: boolean;
}

export interface ResultBackend {
  /** Stores a state; never overwrites a stored SUCCESS. */
  storeResult(meta: ResultMeta, options?: StoreOptions): Promise<void>;
  /** The stored state, or null when nothing is stored (PENDING / unknown id). */
  getMeta(taskId: string): Promise<ResultMeta | null>;
  /** Many at once, in order. */
  getMetaMany(taskIds: readonly string[]): Promise<Array<ResultMeta | null>>;
  /** Resolves with the first ready state (SUCCESS/FAILURE/REVOKED). */
  waitFor(taskId: string, options?: WaitOptions): Promise<ResultMeta>;
  /** False when the backend cannot join chords at all (rpc://). */
  readonly supportsChords?: boolean;
  /** Optional: start listening for a task's result as it is sent (before anyone waits for it): called right after the publish is written. */
  prepareWait?(taskId: string): void;
  /** Deletes the stored state. */
  forget(taskId: string): Promise<void>;
  /** Stores a group (`celery-taskset-meta-<id>` = `{"result": <group tuple>}`) for GroupResult.restore. */
  saveGroup(group: GroupResult<unknown>): Promise<void>;
  /** The saved group's result tuple, or null. */
  restoreGroup(groupId: string): Promise<unknown>;
  forgetGroup(groupId: string): Promise<void>;
  /**
   * Native chord join (absent: chords use the `celery.chord_unlock` task, as Celery does for backends
   * without one). `setChordSize` is called by the client before the header is sent;
   * `chordPartReturn` by each header task once final, and returns every entry, in header order, to
   * the one call that completed the chord (null to the others).
   */
  setChordSize?(groupId: string, size: number): Promise<void>;
  chordPartReturn?(groupId: string, groupIndex: number | null, entry: ChordEntry): Promise<ChordEntry[] | null>;
  connect(): Promise<void>;
  close(): Promise<void>;
}
