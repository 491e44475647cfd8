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
  /** Push notifications on `channel`; undefined when the store cannot (callers poll). */
  subscribe?(channel: string, listener: (value: Buffer) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}
