/** The few operations a store needs for KeyValueResultBackend (Redis, memory). */
export interface KeyValueStore {
  connect(): Promise<void>;
  get(key: string): Promise<Buffer | null>;
  mget(keys: readonly string[]): Promise<Array<Buffer | null>>;
  /**
   * Sets `key` (with a TTL in seconds when ttl > 0) and publishes the same value on channel `key`,
   * atomically. With `keepSuccess`, does nothing when the stored document's status is SUCCESS.
   * Returns false when it kept the stored value.
   */
  setAndPublish(key: string, value: Buffer, ttlSeconds: number, keepSuccess: boolean): Promise<boolean>;
  delete(keys: readonly string[]): Promise<void>;
  /**
   * Chord join (Celery's Redis native join): adds `member` to the sorted set `<group>.j` at `score`
   * (null = +inf; a list when not `ordered`), refreshes the TTL of `.j/.t/.s`, and when this call
   * completed the chord (a new member made the count reach `int(.s) + int(.t or 0)`) returns every
   * member in order and deletes the three keys, atomically. Returns null otherwise. Absent when the
   * store cannot do it atomically (the app then falls back to `celery.chord_unlock`).
   */
  chordAdd?(groupKey: string, score: number | null, member: Buffer, ttlSeconds: number, ordered: boolean): Promise<Buffer[] | null>;
  /** Push notifications on `channel`; undefined when the store cannot (callers poll). */
  subscribe?(channel: string, listener: (value: Buffer) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
