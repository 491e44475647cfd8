/**
 * Result bookkeeping written once over a KeyValueStore: Celery's key names, serialization, never
 * overwriting SUCCESS, and waiting by subscription (SUBSCRIBE, then GET once, so nothing is missed).
 */
import { BackendError, ResultTimeoutError, toError } from '../errors';
import { decodeResultMeta, encodeResultMeta, type ResultMeta } from '../protocol/result-meta';
import { serializerByName, type Serializer } from '../protocol/serializers';
import type { GroupResult } from '../result/group-result';
import { toResultTuple } from '../result/result-tuple';
import { READY_STATES } from '../result/states';
import type { KeyValueStore } from './key-value-store';
import type { ChordEntry, ResultBackend, StoreOptions, WaitOptions } from './result-backend';

/** celery/backends/base.py KeyValueStoreBackend key prefixes. */
export const TASK_KEY_PREFIX = 'celery-task-meta-';
export const GROUP_KEY_PREFIX = 'celery-taskset-meta-';

/** A subscription opened when a task is sent, before anyone waits for its result. */
interface Prepared {
  subscription: Promise<() => Promise<void>>;
  /** Messages that arrived before a waiter attached. */
  early: Buffer[];
  attach?: (raw: Buffer) => void;
  timer: NodeJS.Timeout;
}

/** Pre-subscriptions kept at most, and how long one waits for get() before it is dropped. */
const MAX_PREPARED = 10_000;
const PREPARED_TTL_MS = 60_000;

export interface KeyValueResultBackendOptions {
  /** Seconds results live; 0 keeps them forever. @defaultValue 86400 */
  expires?: number;
  /** @defaultValue 'json' */
  serializer?: string;
  /**
   * Chord join in a sorted set by header index (Celery's `result_chord_ordered`, a
   * `result_backend_transport_options` key); false uses a list in completion order. @defaultValue true
   */
  chordOrdered?: boolean;
}

export class KeyValueResultBackend implements ResultBackend {
  private readonly serializer: Serializer;
  private readonly expires: number;
  private readonly prepared = new Map<string, Prepared>();
  private readonly chordOrdered: boolean;
  /** Present only when the store can join chords atomically (see ResultBackend). */
  readonly setChordSize?: (groupId: string, size: number) => Promise<void>;
  readonly chordPartReturn?: (groupId: string, groupIndex: number | null, entry: ChordEntry) => Promise<ChordEntry[] | null>;

  constructor(
    protected readonly store: KeyValueStore,
    options: KeyValueResultBackendOptions = {},
  ) {
    this.serializer = serializerByName(options.serializer ?? 'json');
    this.expires = options.expires ?? 86400;
    this.chordOrdered = options.chordOrdered ?? true;
    if (store.chordAdd) {
      this.setChordSize = (groupId, size) => this.storeChordSize(groupId, size);
      this.chordPartReturn = (groupId, groupIndex, entry) => this.joinChordPart(groupId, groupIndex, entry);
    }
  }

  private async storeChordSize(groupId: string, size: number): Promise<void> {
    // Celery: SETEX <group>.s + PUBLISH, a bare integer.
    await this.store.setAndPublish(`${GROUP_KEY_PREFIX}${groupId}.s`, Buffer.from(String(size)), this.expires, false);
  }

  private async joinChordPart(groupId: string, groupIndex: number | null, entry: ChordEntry): Promise<ChordEntry[] | null> {
    const members = await this.store.chordAdd!(GROUP_KEY_PREFIX + groupId, groupIndex, this.serializer.encode(entry), this.expires, this.chordOrdered);
    if (!members) return null;
    return members.map((raw) => {
      const doc = raw[0] === 0x5b /* [ */ ? serializerByName('json').decode(raw) : this.serializer.decode(raw);
      if (!Array.isArray(doc) || doc.length < 4) throw new BackendError(`Chord ${groupId}: unreadable join entry ${raw.toString('utf8').slice(0, 200)}`);
      return doc as ChordEntry;
    });
  }

  groupKey(groupId: string): string {
    return GROUP_KEY_PREFIX + groupId;
  }

  async saveGroup(group: GroupResult<unknown>): Promise<void> {
    const value = this.serializer.encode({ result: toResultTuple(group) });
    await this.store.setAndPublish(this.groupKey(group.id), value, this.expires, false);
  }

  async restoreGroup(groupId: string): Promise<unknown> {
    const raw = await this.store.get(this.groupKey(groupId));
    if (!raw) return null;
    const doc = (raw[0] === 0x7b ? serializerByName('json').decode(raw) : this.serializer.decode(raw)) as { result?: unknown } | null;
    return doc?.result ?? null;
  }

  async forgetGroup(groupId: string): Promise<void> {
    await this.store.delete([this.groupKey(groupId)]);
  }

  taskKey(taskId: string): string {
    return TASK_KEY_PREFIX + taskId;
  }

  connect(): Promise<void> {
    return this.store.connect();
  }

  // Not async: one promise per stored state (the store's) instead of three; runs for every task.
  storeResult(meta: ResultMeta, options: StoreOptions = {}): Promise<void> {
    let value: Buffer;
    try {
      value = this.serializer.encode(encodeResultMeta(meta));
    } catch (err) {
      return Promise.reject(toError(err));
    }
    return this.store.setAndPublish(this.taskKey(meta.taskId), value, this.expires, options.keepSuccess ?? true) as Promise<unknown> as Promise<void>; // its flag is not part of this API
  }

  private decode(taskId: string, raw: Buffer | null): ResultMeta | null {
    if (raw === null) return null;
    try {
      // Results are JSON unless resultSerializer says otherwise; a Python peer writes JSON by default.
      const doc = raw[0] === 0x7b /* { */ ? serializerByName('json').decode(raw) : this.serializer.decode(raw);
      return decodeResultMeta(doc, taskId);
    } catch (err) {
      throw new BackendError(`Stored result of task ${taskId} cannot be read: ${(err as Error).message}`, { cause: err });
    }
  }

  async getMeta(taskId: string): Promise<ResultMeta | null> {
    return this.decode(taskId, await this.store.get(this.taskKey(taskId)));
  }

  async getMetaMany(taskIds: readonly string[]): Promise<Array<ResultMeta | null>> {
    if (!taskIds.length) return [];
    const raws = await this.store.mget(taskIds.map((id) => this.taskKey(id)));
    return raws.map((raw, i) => this.decode(taskIds[i]!, raw));
  }

  async forget(taskId: string): Promise<void> {
    await this.store.delete([this.taskKey(taskId)]);
  }

  /**
   * Subscribes to a task's result as it is sent, as Celery's Redis backend does (on_task_call), so a
   * later get() does not pay for SUBSCRIBE and misses nothing. Dropped after 60 s without a get().
   */
  prepareWait(taskId: string): void {
    const subscribe = this.store.subscribe?.bind(this.store);
    if (!subscribe || this.prepared.size >= MAX_PREPARED || this.prepared.has(taskId)) return;
    const entry: Prepared = {
      early: [],
      subscription: undefined as unknown as Prepared['subscription'],
      timer: setTimeout(() => this.dropPrepared(taskId), PREPARED_TTL_MS).unref(),
    };
    entry.subscription = subscribe(this.taskKey(taskId), (raw) => (entry.attach ? entry.attach(raw) : entry.early.push(raw)));
    entry.subscription.catch(() => this.dropPrepared(taskId));
    this.prepared.set(taskId, entry);
  }

  private dropPrepared(taskId: string): void {
    const entry = this.prepared.get(taskId);
    if (!entry) return;
    this.prepared.delete(taskId);
    clearTimeout(entry.timer);
    entry.subscription.then((unsub) => unsub()).catch(() => undefined);
  }

  waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    return new Promise<ResultMeta>((resolve, reject) => {
      let done = false;
      let unsubscribe: (() => Promise<void>) | undefined;
      let timer: NodeJS.Timeout | undefined;
      let poller: NodeJS.Timeout | undefined;
      const finish = (error: unknown, meta?: ResultMeta): void => {
        if (done) return;
        done = true;
        if (timer) clearTimeout(timer);
        if (poller) clearTimeout(poller);
        options.signal?.removeEventListener('abort', onAbort);
        const cleanup = unsubscribe ? unsubscribe().catch(() => undefined) : Promise.resolve();
        void cleanup;
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the error as the store gave it
        if (error) reject(error);
        else resolve(meta!);
      };
      const onAbort = (): void => finish(options.signal?.reason ?? new Error('aborted'));
      const seen = (meta: ResultMeta | null): void => {
        if (done || !meta) return;
        options.onMessage?.(meta);
        if (READY_STATES.has(meta.status)) finish(undefined, meta);
      };
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort);
      if (options.timeoutMs !== undefined) timer = setTimeout(() => finish(new ResultTimeoutError(taskId, options.timeoutMs!)), options.timeoutMs);
      const key = this.taskKey(taskId);
      const poll = async (): Promise<void> => {
        try {
          seen(await this.getMeta(taskId));
        } catch (err) {
          finish(err);
          return;
        }
        if (!done && !this.store.subscribe) poller = setTimeout(() => void poll(), options.intervalMs ?? 500);
      };
      const listener = (raw: Buffer): void => {
        try {
          seen(this.decode(taskId, raw));
        } catch (err) {
          finish(err);
        }
      };
      const prepared = this.prepared.get(taskId);
      if (prepared) {
        this.prepared.delete(taskId);
        clearTimeout(prepared.timer);
        prepared.attach = listener;
        for (const raw of prepared.early.splice(0)) listener(raw);
      }
      if (this.store.subscribe) {
        (prepared ? prepared.subscription : this.store.subscribe(key, listener))
          .then((unsub) => {
            unsubscribe = unsub;
            if (done) void unsub().catch(() => undefined);
            else return poll(); // GET once after subscribing: the result may already be there.
            return undefined;
          })
          .catch((err: unknown) => finish(err));
      } else {
        void poll();
      }
    });
  }

  close(): Promise<void> {
    for (const id of [...this.prepared.keys()]) this.dropPrepared(id);
    return this.store.close();
  }
}
