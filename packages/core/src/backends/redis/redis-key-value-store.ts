/**
 * KeyValueStore over Redis (ioredis), the store behind RedisResultBackend.
 *
 * - One command connection (auto-pipelined) and one subscriber connection, created on the first
 *   `subscribe()` and shared by every subscription: SUBSCRIBE on a channel's first listener,
 *   UNSUBSCRIBE on its last. After the subscriber reconnects, subscribed keys are read once, so a
 *   result published meanwhile is not lost.
 * - `setAndPublish` is one round trip: a Lua script that keeps a stored SUCCESS, then SET (EX ttl)
 *   + PUBLISH on the key's own channel, like celery/backends/redis.py `_set` (SETEX + PUBLISH).
 * - `keyPrefix` is prepended to every key and every channel (Celery's `global_keyprefix` in
 *   `result_backend_transport_options`, Celery >= 5.3; Celery 5.2 has no prefix for results).
 *
 * URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://...` for TLS; query options as
 * brokers/redis/redis-url.ts (`ssl_cert_reqs`, `socket_connect_timeout`).
 */
import Redis, { type RedisOptions } from 'ioredis';
import { parseRedisUrl } from '../../brokers/redis/redis-url';
import { BackendError } from '../../errors';
import type { KeyValueStore } from '../key-value-store';

/** Options of RedisKeyValueStore. */
export interface RedisKeyValueStoreOptions {
  /** `redis://[[user]:password@]host[:port][/db]` or `rediss://...`. */
  url: string;
  /**
   * Prepended verbatim to every key and channel. RedisResultBackend normalizes it like Celery.
   * @defaultValue ''
   */
  keyPrefix?: string;
}

// KEYS[1] key (also the channel); ARGV[1] value, ARGV[2] ttl seconds (0 = none), ARGV[3] '1' = keep SUCCESS.
// A stored value that decodes to neither JSON nor msgpack counts as not SUCCESS.
const SET_AND_PUBLISH_LUA = `
if ARGV[3] == '1' then
  local current = redis.call('GET', KEYS[1])
  if current then
    local ok, doc = pcall(cjson.decode, current)
    if not ok then ok, doc = pcall(cmsgpack.unpack, current) end
    if ok and type(doc) == 'table' and doc['status'] == 'SUCCESS' then return 0 end
  end
end
local ttl = tonumber(ARGV[2])
if ttl and ttl > 0 then
  redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
else
  redis.call('SET', KEYS[1], ARGV[1])
end
redis.call('PUBLISH', KEYS[1], ARGV[1])
return 1
`;

interface ScriptCommands {
  celeriacSetAndPublish(key: string, value: Buffer, ttl: number, keepSuccess: '0' | '1'): Promise<number>;
}

type Listener = (value: Buffer) => void;

interface ChannelEntry {
  listeners: Set<Listener>;
  /** Settles once Redis confirmed the SUBSCRIBE. */
  ready: Promise<void>;
}

/** KeyValueStore on Redis; see the file header. */
export class RedisKeyValueStore implements KeyValueStore {
  /** The prefix prepended to keys and channels. */
  readonly keyPrefix: string;
  /** The URL with its password masked, for messages. */
  private readonly url: string;
  private readonly connectionOptions: RedisOptions;
  private readonly client: Redis;
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, ChannelEntry>();
  private connecting: Promise<void> | undefined;
  /** The last socket error: ioredis rejects with a bare "Connection is closed." and reports why here. */
  private lastSocketError: Error | undefined;
  private closed = false;

  constructor(options: RedisKeyValueStoreOptions) {
    const parsed = parseRedisUrl(options.url, 'resultBackend');
    this.url = parsed.redacted;
    this.keyPrefix = options.keyPrefix ?? '';
    // disconnectTimeout: ioredis arms a timer of this length when disconnecting a socket that has
    // already closed (Redis down); at its 2 s default it keeps the process alive after close().
    this.connectionOptions = { ...parsed.options, disconnectTimeout: 100 };
    this.client = new Redis({ ...this.connectionOptions, lazyConnect: true, enableAutoPipelining: true });
    // Without a listener ioredis prints every connection error; callers see them as BackendError.
    this.client.on('error', (err: Error) => (this.lastSocketError = err));
    this.client.on('ready', () => (this.lastSocketError = undefined));
    this.client.defineCommand('celeriacSetAndPublish', { numberOfKeys: 1, lua: SET_AND_PUBLISH_LUA });
  }

  private wrap(what: string, thrown: unknown): BackendError {
    if (thrown instanceof BackendError) return thrown;
    const closed = thrown instanceof Error && thrown.message === 'Connection is closed.';
    const err = closed && this.lastSocketError ? this.lastSocketError : thrown;
    const reason = err instanceof Error ? err.message : String(err);
    // A reply error is Redis refusing the command; anything else is the connection.
    const hint = err instanceof Error && err.name === 'ReplyError' ? '' : ' Is Redis running and the URL right?';
    return new BackendError(`Redis result backend at ${this.url}: ${what} failed: ${reason}.${hint}`, { cause: err });
  }

  private async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new BackendError(`Redis result backend at ${this.url} is closed; ${what} is not possible.`);
    try {
      return await op();
    } catch (err) {
      throw this.wrap(what, err);
    }
  }

  connect(): Promise<void> {
    this.connecting ??= this.run('connect', async () => {
      if (this.client.status === 'wait') await this.client.connect();
      else if (this.client.status !== 'ready') await this.client.ping(); // already connecting: wait for it
    }).catch((err: unknown) => {
      this.connecting = undefined; // a later connect() tries again
      throw err;
    });
    return this.connecting;
  }

  get(key: string): Promise<Buffer | null> {
    return this.run('GET', () => this.client.getBuffer(this.keyPrefix + key));
  }

  mget(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (!keys.length) return Promise.resolve([]);
    return this.run('MGET', () => this.client.mgetBuffer(...keys.map((k) => this.keyPrefix + k)));
  }

  setAndPublish(key: string, value: Buffer, ttlSeconds: number, keepSuccess: boolean): Promise<boolean> {
    // Redis takes whole seconds; round up so a result never expires early.
    const ttl = ttlSeconds > 0 ? Math.ceil(ttlSeconds) : 0;
    const scripts = this.client as unknown as ScriptCommands;
    return this.run('SET + PUBLISH', async () => (await scripts.celeriacSetAndPublish(this.keyPrefix + key, value, ttl, keepSuccess ? '1' : '0')) === 1);
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (!keys.length) return;
    await this.run('DEL', () => this.client.del(...keys.map((k) => this.keyPrefix + k)));
  }

  private subscriberConnection(): Redis {
    if (!this.subscriber) {
      const sub = new Redis({ ...this.connectionOptions, lazyConnect: false });
      sub.on('error', (err: Error) => (this.lastSocketError = err));
      let connectedBefore = false;
      sub.on('ready', () => {
        if (connectedBefore) void this.recoverMissed(sub);
        connectedBefore = true;
      });
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        const entry = this.channels.get(channel.toString('utf8'));
        if (!entry) return;
        for (const listener of [...entry.listeners]) listener(message);
      });
      this.subscriber = sub;
    }
    return this.subscriber;
  }

  /**
   * After a reconnect, what was published while the subscriber was away is only in the keys: GET them
   * once resubscribed, as Celery's ResultConsumer `_reconnect_pubsub` MGETs what it subscribed to.
   * Channels here are keys (`setAndPublish` publishes on its key).
   */
  private async recoverMissed(sub: Redis): Promise<void> {
    const names = [...this.channels.keys()];
    if (!names.length || this.closed) return;
    try {
      await sub.subscribe(...names); // idempotent; confirmed after ioredis's own resubscribe
      const values = await this.client.mgetBuffer(...names);
      values.forEach((value, i) => {
        const entry = value && this.channels.get(names[i]!);
        if (entry) for (const listener of [...entry.listeners]) listener(value);
      });
    } catch {
      // Connection lost again: the next 'ready' retries; waiters keep their own timeouts.
    }
  }

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    if (this.closed) throw new BackendError(`Redis result backend at ${this.url} is closed; SUBSCRIBE is not possible.`);
    const name = this.keyPrefix + channel;
    let entry = this.channels.get(name);
    if (!entry) {
      const sub = this.subscriberConnection();
      const created: ChannelEntry = { listeners: new Set(), ready: Promise.resolve() };
      created.ready = sub.subscribe(name).then(
        () => undefined,
        (err: unknown) => {
          if (this.channels.get(name) === created) this.channels.delete(name);
          throw this.wrap(`SUBSCRIBE ${name}`, err);
        },
      );
      entry = created;
      this.channels.set(name, entry);
    }
    const current = entry;
    current.listeners.add(listener);
    try {
      await current.ready;
    } catch (err) {
      current.listeners.delete(listener);
      throw err;
    }
    let active = true;
    return async () => {
      if (!active) return;
      active = false;
      current.listeners.delete(listener);
      if (current.listeners.size || this.channels.get(name) !== current) return;
      this.channels.delete(name);
      // While reconnecting the command waits in ioredis's offline queue; otherwise autoResubscribe would restore it.
      if (this.closed || !this.subscriber || this.subscriber.status === 'end') return;
      await this.run(`UNSUBSCRIBE ${name}`, () => this.subscriber!.unsubscribe(name));
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.channels.clear();
    const connections = [this.client, this.subscriber].filter((c): c is Redis => c !== undefined);
    this.subscriber = undefined;
    await Promise.all(
      connections.map(async (c) => {
        if (c.status === 'end') return;
        if (c.status !== 'ready') {
          c.disconnect(); // never connected or reconnecting: QUIT would wait for a connection
          return;
        }
        try {
          await c.quit();
        } catch {
          c.disconnect();
        }
      }),
    );
  }
}
