/**
 * KeyValueStore over Redis (ioredis), the store behind RedisResultBackend.
 *
 * - One command connection (auto-pipelined) and one subscriber connection, created on the first
 *   `subscribe()` and shared by every subscription: SUBSCRIBE on a channel's first listener,
 *   UNSUBSCRIBE on its last.
 * - `setAndPublish` is one round trip: a Lua script that keeps a stored SUCCESS, then SET (EX ttl)
 *   + PUBLISH on the key's own channel, like celery/backends/redis.py `_set` (SETEX + PUBLISH).
 * - `keyPrefix` is prepended to every key and every channel (Celery's `global_keyprefix` in
 *   `result_backend_transport_options`, Celery >= 5.3; Celery 5.2 has no prefix for results).
 *
 * URL: `redis://[[user]:password@]host[:port][/db]`, `rediss://...` for TLS
 * (`?ssl_cert_reqs=none` skips certificate checks, as in Celery's URL).
 */
import Redis, { type RedisOptions } from 'ioredis';
import { BackendError, ConfigError } from '../../errors';
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

/** Connection options from a `redis://` / `rediss://` URL (Celery's and Kombu's form). */
export function parseRedisUrl(url: string): RedisOptions {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError('url', `Invalid Redis URL "${safeUrl(url)}": expected redis://[:password@]host[:port][/db].`);
  }
  const scheme = parsed.protocol.replace(/:$/, '');
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new ConfigError('url', `Unsupported Redis URL scheme "${scheme}://": use redis:// or rediss:// (TLS).`);
  }
  const options: RedisOptions = {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || 'localhost',
    port: parsed.port ? Number(parsed.port) : 6379,
  };
  const dbText = parsed.pathname.replace(/^\/+|\/+$/g, '') || parsed.searchParams.get('db') || '0';
  if (!/^\d+$/.test(dbText)) throw new ConfigError('url', `Invalid Redis database "${dbText}" in "${safeUrl(url)}": expected a number, e.g. redis://localhost:6379/0.`);
  options.db = Number(dbText);
  if (parsed.username) options.username = decodeURIComponent(parsed.username);
  if (parsed.password) options.password = decodeURIComponent(parsed.password);
  if (scheme === 'rediss') {
    const certReqs = (parsed.searchParams.get('ssl_cert_reqs') ?? '').toLowerCase();
    options.tls = certReqs === 'none' || certReqs === 'cert_none' ? { rejectUnauthorized: false } : {};
  }
  return options;
}

/** Redacts the password of a URL for messages. */
function safeUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):[^@/]*@/, '//$1:***@');
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
  private readonly url: string;
  private readonly connectionOptions: RedisOptions;
  private readonly client: Redis;
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, ChannelEntry>();
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(options: RedisKeyValueStoreOptions) {
    this.url = options.url;
    this.keyPrefix = options.keyPrefix ?? '';
    this.connectionOptions = parseRedisUrl(options.url);
    this.client = new Redis({ ...this.connectionOptions, lazyConnect: true, enableAutoPipelining: true });
    // Without a listener ioredis prints every connection error; callers see them as BackendError.
    this.client.on('error', () => undefined);
    this.client.defineCommand('celeriacSetAndPublish', { numberOfKeys: 1, lua: SET_AND_PUBLISH_LUA });
  }

  private wrap(what: string, err: unknown): BackendError {
    if (err instanceof BackendError) return err;
    const reason = err instanceof Error ? err.message : String(err);
    // A reply error is Redis refusing the command; anything else is the connection.
    const hint = err instanceof Error && err.name === 'ReplyError' ? '' : ' Is Redis running and the URL right?';
    return new BackendError(`Redis result backend at ${safeUrl(this.url)}: ${what} failed: ${reason}.${hint}`, { cause: err });
  }

  private async run<T>(what: string, op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new BackendError(`Redis result backend at ${safeUrl(this.url)} is closed; ${what} is not possible.`);
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
      sub.on('error', () => undefined);
      sub.on('messageBuffer', (channel: Buffer, message: Buffer) => {
        const entry = this.channels.get(channel.toString('utf8'));
        if (!entry) return;
        for (const listener of [...entry.listeners]) listener(message);
      });
      this.subscriber = sub;
    }
    return this.subscriber;
  }

  async subscribe(channel: string, listener: Listener): Promise<() => Promise<void>> {
    if (this.closed) throw new BackendError(`Redis result backend at ${safeUrl(this.url)} is closed; SUBSCRIBE is not possible.`);
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
