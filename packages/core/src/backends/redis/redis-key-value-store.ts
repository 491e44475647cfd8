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

// KEYS: the keys (each also its channel); ARGV[1] ttl seconds (0 = none), ARGV[2] '1' = keep SUCCESS,
// ARGV[3..] the values, one per key. Many results stored in one call: workers finish tasks in bursts.
// A stored value that decodes to neither JSON nor msgpack counts as not SUCCESS. Returns 1/0 per key.
const SET_AND_PUBLISH_LUA = `
local ttl, keep, out = tonumber(ARGV[1]), ARGV[2] == '1', {}
for i = 1, #KEYS do
  local key, value, skip = KEYS[i], ARGV[i + 2], false
  if keep then
    local current = redis.call('GET', key)
    if current then
      local ok, doc = pcall(cjson.decode, current)
      if not ok then ok, doc = pcall(cmsgpack.unpack, current) end
      skip = ok and type(doc) == 'table' and doc['status'] == 'SUCCESS'
    end
  end
  if skip then
    out[i] = 0
  else
    if ttl and ttl > 0 then redis.call('SET', key, value, 'EX', ttl) else redis.call('SET', key, value) end
    redis.call('PUBLISH', key, value)
    out[i] = 1
  end
end
return out
`;

// Celery's chord join (celery/backends/redis.py on_chord_part_return) in one atomic step. KEYS: .j, .t, .s;
// ARGV: score ('+inf' for no index), member, ttl (0 = none), '1' ordered (ZSET) / '0' (list).
// Fires once: only the call whose new member completes the count returns the members (and deletes
// the keys), so a redelivered header task cannot run the body twice.
const CHORD_ADD_LUA = `
local ordered = ARGV[4] == '1'
local added, count
if ordered then
  added = redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
  count = redis.call('ZCOUNT', KEYS[1], '-inf', '+inf')
else
  count = redis.call('RPUSH', KEYS[1], ARGV[2])
  added = 1
end
local total = redis.call('GET', KEYS[3])
local extra = redis.call('GET', KEYS[2])
local ttl = tonumber(ARGV[3])
if ttl and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
if added == 1 and total and count == tonumber(total) + tonumber(extra or '0') then
  local members
  if ordered then members = redis.call('ZRANGE', KEYS[1], 0, -1) else members = redis.call('LRANGE', KEYS[1], 0, count - 1) end
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return members
end
return false
`;

interface ScriptCommands {
  celeriacSetAndPublish(numKeys: number, ...args: Array<string | number | Buffer>): Promise<number[]>;
  celeriacChordAddBuffer(...args: Array<string | number | Buffer>): Promise<Buffer[] | null>;
}

interface PendingStore {
  key: string;
  value: Buffer;
  resolve: (stored: boolean) => void;
  reject: (err: unknown) => void;
}

const MAX_BATCH = 500;

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
  private readonly pendingStores = new Map<string, PendingStore[]>();
  private storeFlushScheduled = false;
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
    // No auto-pipelining: it holds every command for one more event-loop turn, and stores are batched
    // here already (setAndPublish).
    this.client = new Redis({ ...this.connectionOptions, lazyConnect: true });
    // Without a listener ioredis prints every connection error; callers see them as BackendError.
    this.client.on('error', (err: Error) => (this.lastSocketError = err));
    this.client.on('ready', () => (this.lastSocketError = undefined));
    this.client.defineCommand('celeriacSetAndPublish', { lua: SET_AND_PUBLISH_LUA });
    this.client.defineCommand('celeriacChordAdd', { lua: CHORD_ADD_LUA, numberOfKeys: 3 });
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
    const group = `${ttl}:${keepSuccess ? 1 : 0}`;
    return new Promise<boolean>((resolve, reject) => {
      const store: PendingStore = { key: this.keyPrefix + key, value, resolve, reject };
      if (!this.storeFlushScheduled) {
        // The first store of an event-loop turn goes at once: a lone result (a round trip, a worker
        // at low load) pays no batching delay. Those that follow in this turn go together at its end.
        this.storeFlushScheduled = true;
        setImmediate(() => {
          this.storeFlushScheduled = false;
          for (const g of [...this.pendingStores.keys()]) this.flushStores(g);
        });
        this.sendStores(group, [store]);
        return;
      }
      let batch = this.pendingStores.get(group);
      if (!batch) this.pendingStores.set(group, (batch = []));
      batch.push(store);
      if (batch.length >= MAX_BATCH) this.flushStores(group);
    });
  }

  /** Sends one script call for every result queued in this event-loop turn with the same ttl/keep. */
  private flushStores(group: string): void {
    const batch = this.pendingStores.get(group);
    if (!batch?.length) return;
    this.pendingStores.delete(group);
    this.sendStores(group, batch);
  }

  /** One script call storing `batch` (same `ttl:keep` group); each caller learns its own flag. */
  private sendStores(group: string, batch: PendingStore[]): void {
    const [ttl, keep] = group.split(':');
    const scripts = this.client as unknown as ScriptCommands;
    this.run('SET + PUBLISH', () => scripts.celeriacSetAndPublish(batch.length, ...batch.map((p) => p.key), ttl!, keep!, ...batch.map((p) => p.value))).then(
      (flags) => batch.forEach((p, i) => p.resolve(flags[i] === 1)),
      (err: unknown) => batch.forEach((p) => p.reject(err)),
    );
  }

  chordAdd(groupKey: string, score: number | null, member: Buffer, ttlSeconds: number, ordered: boolean): Promise<Buffer[] | null> {
    const key = this.keyPrefix + groupKey;
    const scripts = this.client as unknown as ScriptCommands;
    const ttl = ttlSeconds > 0 ? Math.ceil(ttlSeconds) : 0;
    return this.run('chord join', async () => {
      const members = await scripts.celeriacChordAddBuffer(`${key}.j`, `${key}.t`, `${key}.s`, score === null ? '+inf' : String(score), member, ttl, ordered ? '1' : '0');
      return members ?? null;
    });
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
      // SUBSCRIBE only once the connection is ready: one sent during the handshake puts the connection in
      // subscriber mode before ioredis's own INFO check, which then fails and reconnects, losing it.
      created.ready = whenReady(sub).then(() => sub.subscribe(name)).then(
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
    // Results queued for this turn's batch are sent before the connection goes.
    for (const g of [...this.pendingStores.keys()]) this.flushStores(g);
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

const readiness = new WeakMap<Redis, Promise<void>>();

/** Resolves when `client` is ready (at once if it is); rejects if it ends first. One wait per client. */
function whenReady(client: Redis): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  let waiting = readiness.get(client);
  if (!waiting) {
    waiting = waitReady(client).finally(() => readiness.delete(client));
    readiness.set(client, waiting);
  }
  return waiting;
}

function waitReady(client: Redis): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      client.off('end', onEnd);
      resolve();
    };
    const onEnd = (): void => {
      client.off('ready', onReady);
      reject(new Error('Connection is closed.'));
    };
    client.once('ready', onReady);
    client.once('end', onEnd);
  });
}
