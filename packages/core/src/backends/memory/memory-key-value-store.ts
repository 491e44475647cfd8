/**
 * In-process KeyValueStore for tests and embedded use: TTLs and publish/subscribe like Redis.
 * URL `memory://` (stores of the same name share data: `memory://name`).
 */
import { EventEmitter } from 'node:events';
import type { KeyValueStore } from '../key-value-store';

interface Entry {
  value: Buffer;
  expiresAt: number | null;
}

class MemoryData {
  readonly entries = new Map<string, Entry>();
  readonly channels = new EventEmitter().setMaxListeners(0);
  /** Chord joins in progress (Redis keeps them in `<group>.j`). */
  readonly joins = new Map<string, Array<{ score: number; text: string; value: Buffer }>>();
}
const stores = new Map<string, MemoryData>();

export class MemoryKeyValueStore implements KeyValueStore {
  private readonly data: MemoryData;

  constructor(name = 'default') {
    let data = stores.get(name);
    if (!data) stores.set(name, (data = new MemoryData()));
    this.data = data;
  }

  /** Drops all memory stores (test isolation). */
  static reset(): void {
    stores.clear();
  }

  async connect(): Promise<void> {}

  private read(key: string): Buffer | null {
    const e = this.data.entries.get(key);
    if (!e) return null;
    if (e.expiresAt !== null && e.expiresAt <= Date.now()) {
      this.data.entries.delete(key);
      return null;
    }
    return e.value;
  }

  async get(key: string): Promise<Buffer | null> {
    return this.read(key);
  }

  async mget(keys: readonly string[]): Promise<Array<Buffer | null>> {
    return keys.map((k) => this.read(k));
  }

  async setAndPublish(key: string, value: Buffer, ttlSeconds: number, keepSuccess: boolean): Promise<boolean> {
    if (keepSuccess) {
      const current = this.read(key);
      if (current && /"status":\s*"SUCCESS"/.test(current.toString('utf8'))) return false;
    }
    this.data.entries.set(key, { value, expiresAt: ttlSeconds > 0 ? Date.now() + ttlSeconds * 1000 : null });
    this.data.channels.emit(key, value);
    return true;
  }

  async chordAdd(groupKey: string, score: number | null, member: Buffer, ttlSeconds: number, ordered: boolean): Promise<Buffer[] | null> {
    // Same contract as the Redis script; one event-loop turn makes it atomic here.
    let join = this.data.joins.get(groupKey);
    if (!join) this.data.joins.set(groupKey, (join = []));
    const text = member.toString('utf8');
    if (ordered && join.some((m) => m.text === text)) return null;
    join.push({ score: score ?? Infinity, text, value: member });
    const total = this.read(`${groupKey}.s`);
    const extra = this.read(`${groupKey}.t`);
    void ttlSeconds;
    if (!total || join.length !== Number(total.toString()) + Number(extra?.toString() ?? 0)) return null;
    this.data.joins.delete(groupKey);
    this.data.entries.delete(`${groupKey}.s`);
    this.data.entries.delete(`${groupKey}.t`);
    const members = ordered ? [...join].sort((a, b) => a.score - b.score || (a.text < b.text ? -1 : a.text > b.text ? 1 : 0)) : join;
    return members.map((m) => m.value);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const k of keys) this.data.entries.delete(k);
  }

  async subscribe(channel: string, listener: (value: Buffer) => void): Promise<() => Promise<void>> {
    this.data.channels.on(channel, listener);
    return async () => {
      this.data.channels.off(channel, listener);
    };
  }

  async close(): Promise<void> {}
}
