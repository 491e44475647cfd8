// RedisResultBackend against a real Redis on 127.0.0.1:6379. Every key and channel of this file
// sits under its own prefix; afterAll deletes only those keys (SCAN MATCH, never FLUSHALL).
import { randomBytes, randomUUID } from 'node:crypto';
import Redis from 'ioredis';
import { RedisKeyValueStore } from '../../src/backends/redis/redis-key-value-store';
import { RedisResultBackend, resultKeyPrefix } from '../../src/backends/redis/redis-result-backend';
import { BackendError, ConfigError, ResultTimeoutError } from '../../src/errors';
import { dateDoneNow, type ResultMeta } from '../../src/protocol/result-meta';
import { watchCommands } from '../helpers/redis-monitor';

const REDIS_URL = process.env.CELERIAC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';
const PREFIX = `t-rrb-${randomBytes(4).toString('hex')}:`;
const OTHER_PREFIX = `t-rrb-${randomBytes(4).toString('hex')}:`;

const raw = new Redis(REDIS_URL, { lazyConnect: true });
const backends: RedisResultBackend[] = [];
const rawSubscribers: Redis[] = [];

function backend(options: { keyPrefix?: string; expires?: number } = {}): RedisResultBackend {
  const b = new RedisResultBackend({ url: REDIS_URL, keyPrefix: PREFIX, ...options });
  backends.push(b);
  return b;
}

function success(taskId: string, result: unknown): ResultMeta {
  return { taskId, status: 'SUCCESS', result, traceback: null, children: [], dateDone: dateDoneNow() };
}

function failure(taskId: string, message = 'boom'): ResultMeta {
  return {
    taskId,
    status: 'FAILURE',
    result: { exc_type: 'ValueError', exc_message: [message], exc_module: 'builtins' },
    traceback: 'Error: boom\n    at task (tasks.js:1:1)',
    children: [],
    dateDone: dateDoneNow(),
  };
}

function state(taskId: string, status: string, result: unknown = null): ResultMeta {
  return { taskId, status, result, traceback: null, children: [], dateDone: null };
}

const keyOf = (taskId: string, prefix = PREFIX): string => `${prefix}celery-task-meta-${taskId}`;

/** Resolves once `check` returns true, polling Redis; rejects after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function subscriberCount(channel: string): Promise<number> {
  const reply = (await raw.call('PUBSUB', 'NUMSUB', channel)) as [string, number];
  return Number(reply[1]);
}

const subscribed = (channel: string): Promise<void> => waitUntil(`a subscriber on ${channel}`, async () => (await subscriberCount(channel)) > 0);

async function deleteKeys(prefix: string): Promise<void> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  let cursor = '0';
  do {
    const [next, keys] = await raw.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
    cursor = next;
    if (keys.length) await raw.del(...keys);
  } while (cursor !== '0');
}

beforeAll(async () => {
  await raw.connect();
});

afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await Promise.all(rawSubscribers.map((s) => s.quit()));
  await deleteKeys(PREFIX);
  await deleteKeys(OTHER_PREFIX);
  await raw.quit();
});

describe('RedisResultBackend', () => {
  const rb = backend();
  beforeAll(() => rb.connect());

  test('stores a result and reads it back, as Celery lays it out', async () => {
    const id = randomUUID();
    const meta = success(id, { total: 5, items: ['a', 'é', 2], nested: { ok: true } });
    await rb.storeResult(meta);
    expect(await rb.getMeta(id)).toEqual(meta);
    const stored = await raw.get(keyOf(id));
    expect(Object.keys(JSON.parse(stored!) as object)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(await rb.getMeta(randomUUID())).toBeNull();
  });

  test('sets the TTL to expires, and none when expires is 0', async () => {
    const id = randomUUID();
    await backend({ expires: 120 }).storeResult(success(id, 1));
    const ttl = await raw.ttl(keyOf(id));
    expect(ttl).toBeGreaterThan(100);
    expect(ttl).toBeLessThanOrEqual(120);

    const forever = randomUUID();
    await backend({ expires: 0 }).storeResult(success(forever, 1));
    expect(await raw.ttl(keyOf(forever))).toBe(-1);

    const byDefault = randomUUID();
    await rb.storeResult(success(byDefault, 1));
    expect(await raw.ttl(keyOf(byDefault))).toBeGreaterThan(86000);
  });

  test('publishes the stored document on the key channel', async () => {
    const id = randomUUID();
    const sub = new Redis(REDIS_URL);
    rawSubscribers.push(sub);
    await sub.subscribe(keyOf(id));
    const received = new Promise<string>((resolve) => sub.on('message', (_channel: string, message: string) => resolve(message)));
    await rb.storeResult(success(id, 42));
    const message = await received;
    expect(message).toBe(await raw.get(keyOf(id)));
    expect(JSON.parse(message)).toMatchObject({ status: 'SUCCESS', result: 42, task_id: id });
  });

  test('never overwrites a stored SUCCESS, but FAILURE and STARTED are replaced', async () => {
    const id = randomUUID();
    await rb.storeResult(state(id, 'STARTED', { pid: 1, hostname: 'w@h' }));
    await rb.storeResult(failure(id));
    expect((await rb.getMeta(id))?.status).toBe('FAILURE');
    await rb.storeResult(success(id, 'first'));
    expect(await rb.getMeta(id)).toMatchObject({ status: 'SUCCESS', result: 'first' });

    await rb.storeResult(failure(id));
    await rb.storeResult(success(id, 'second'));
    await rb.storeResult(state(id, 'STARTED'));
    expect(await rb.getMeta(id)).toMatchObject({ status: 'SUCCESS', result: 'first' });

    await rb.storeResult(success(id, 'forced'), { keepSuccess: false });
    expect(await rb.getMeta(id)).toMatchObject({ status: 'SUCCESS', result: 'forced' });
  });

  test('a kept SUCCESS is not published again', async () => {
    const id = randomUUID();
    await rb.storeResult(success(id, 1));
    const sub = new Redis(REDIS_URL);
    rawSubscribers.push(sub);
    const messages: string[] = [];
    sub.on('message', (_c: string, m: string) => messages.push(m));
    await sub.subscribe(keyOf(id));
    await rb.storeResult(failure(id));
    const marker = randomUUID();
    await raw.publish(keyOf(id), marker); // ordered after any publish the store made
    await waitUntil('the marker', async () => messages.includes(marker));
    expect(messages).toEqual([marker]);
  });

  test('the first store of an event-loop turn goes at once; the rest of the turn go as one script call, in order', async () => {
    const watch = await watchCommands(REDIS_URL, (args) => args[0]?.toLowerCase() === 'evalsha' && args.slice(3).some((a) => a.startsWith(PREFIX)));
    // each script call's keys
    const calls = (): string[][] => watch.seen.map((args) => args.slice(3, 3 + Number(args[2])));
    try {
      const ids = Array.from({ length: 5 }, () => randomUUID());
      // one turn: a STARTED then the SUCCESS of ids[0], then four more results
      await Promise.all([rb.storeResult(state(ids[0]!, 'STARTED')), rb.storeResult(success(ids[0]!, 0)), ...ids.slice(1).map((id, i) => rb.storeResult(success(id, i + 1)))]);
      await waitUntil('MONITOR to show both script calls', async () => calls().length >= 2);
      expect(calls()).toEqual([[keyOf(ids[0]!)], [ids[0]!, ...ids.slice(1)].map((id) => keyOf(id))]);
      expect((await rb.getMeta(ids[0]!))?.status).toBe('SUCCESS');
      expect((await rb.getMetaMany(ids)).map((m) => m?.result)).toEqual([0, 1, 2, 3, 4]);
    } finally {
      watch.stop();
    }
  });

  test('a stored value that is not JSON counts as not SUCCESS', async () => {
    const id = randomUUID();
    await raw.set(keyOf(id), 'not json {"status": "SUCCESS"}');
    await rb.storeResult(failure(id));
    expect((await rb.getMeta(id))?.status).toBe('FAILURE');
  });

  test('a SUCCESS stored with msgpack is kept too', async () => {
    const packed = backend({});
    const mp = new RedisResultBackend({ url: REDIS_URL, keyPrefix: PREFIX, serializer: 'msgpack' });
    backends.push(mp);
    const id = randomUUID();
    await mp.storeResult(success(id, 7));
    await mp.storeResult(failure(id));
    expect(await mp.getMeta(id)).toMatchObject({ status: 'SUCCESS', result: 7 });
    await packed.storeResult(failure(id));
    expect(await mp.getMeta(id)).toMatchObject({ status: 'SUCCESS', result: 7 });
  });

  describe('waitFor', () => {
    test('waits started while the subscriber connection is still connecting all get their result', async () => {
      // A SUBSCRIBE sent during the handshake used to switch the connection to subscriber mode before
      // ioredis's ready check, which failed and reconnected: some waits rejected, others missed results.
      const fresh = backend();
      const ids = Array.from({ length: 20 }, () => randomUUID());
      const waits: Array<Promise<ResultMeta>> = [];
      for (const id of ids) {
        waits.push(fresh.waitFor(id, { timeoutMs: 10_000 }));
        await new Promise((r) => setTimeout(r, 1));
      }
      for (const id of ids) await subscribed(keyOf(id));
      const writer = backend();
      for (const [i, id] of ids.entries()) await writer.storeResult(success(id, i));
      const results = await Promise.all(waits);
      expect(results.map((r) => r.result)).toEqual(ids.map((_, i) => i));
    });

    test('resolves on a later store (subscribe path)', async () => {
      const id = randomUUID();
      const waiting = rb.waitFor(id, { timeoutMs: 5000 });
      await subscribed(keyOf(id));
      await rb.storeResult(success(id, 'later'));
      await expect(waiting).resolves.toMatchObject({ status: 'SUCCESS', result: 'later' });
    });

    test('is woken by the PUBLISH alone, without a stored key', async () => {
      const id = randomUUID();
      const waiting = rb.waitFor(id, { timeoutMs: 5000 });
      await subscribed(keyOf(id));
      await raw.publish(keyOf(id), JSON.stringify({ status: 'SUCCESS', result: 'pushed', task_id: id }));
      await expect(waiting).resolves.toMatchObject({ status: 'SUCCESS', result: 'pushed' });
      expect(await raw.exists(keyOf(id))).toBe(0);
    });

    test('resolves at once when the result is already stored (GET after subscribe)', async () => {
      const id = randomUUID();
      await rb.storeResult(failure(id, 'early'));
      await expect(rb.waitFor(id, { timeoutMs: 5000 })).resolves.toMatchObject({ status: 'FAILURE', result: { exc_message: ['early'] } });
    });

    test('rejects with ResultTimeoutError after timeoutMs and unsubscribes', async () => {
      const id = randomUUID();
      const started = Date.now();
      const error = await rb.waitFor(id, { timeoutMs: 300 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ResultTimeoutError);
      expect((error as ResultTimeoutError).taskId).toBe(id);
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      await waitUntil('UNSUBSCRIBE', async () => (await subscriberCount(keyOf(id))) === 0);
    });

    test('calls onMessage for STARTED and PROGRESS before SUCCESS', async () => {
      const id = randomUUID();
      const seen: string[] = [];
      const waiting = rb.waitFor(id, { timeoutMs: 5000, onMessage: (meta) => seen.push(meta.status) });
      await subscribed(keyOf(id));
      await rb.storeResult(state(id, 'STARTED', { pid: 1, hostname: 'w@h' }));
      await waitUntil('STARTED', async () => seen.includes('STARTED'));
      await rb.storeResult(state(id, 'PROGRESS', { done: 50 }));
      await waitUntil('PROGRESS', async () => seen.includes('PROGRESS'));
      await rb.storeResult(success(id, 'done'));
      await expect(waiting).resolves.toMatchObject({ status: 'SUCCESS', result: 'done' });
      // The GET after SUBSCRIBE may report the first state a second time.
      expect(seen.filter((s, i) => s !== seen[i - 1])).toEqual(['STARTED', 'PROGRESS', 'SUCCESS']);
    });

    test('after the subscriber reconnects, a result stored meanwhile is read from its key', async () => {
      const own = backend();
      const id = randomUUID();
      // STARTED is stored before anyone subscribed, so only the GET after SUBSCRIBE can report it.
      await own.storeResult(state(id, 'STARTED'));
      const seen: string[] = [];
      const waiting = own.waitFor(id, { timeoutMs: 10000, onMessage: (m) => seen.push(m.status) });
      await waitUntil('the GET after SUBSCRIBE', async () => seen.includes('STARTED'));
      // Stored without PUBLISH: a waiter can only learn of it by reading the key again.
      await raw.set(keyOf(id), JSON.stringify({ status: 'SUCCESS', result: 'meanwhile', task_id: id }));
      // White-box: drop the shared subscriber connection; ioredis reconnects and resubscribes.
      const store = (own as unknown as { store: { subscriber: Redis } }).store;
      store.subscriber.disconnect(true);
      await expect(waiting).resolves.toMatchObject({ status: 'SUCCESS', result: 'meanwhile' });
    });

    test('200 concurrent waiters share one subscriber connection and all resolve', async () => {
      const own = backend();
      const ids = Array.from({ length: 200 }, () => randomUUID());
      const waiting = ids.map((id) => own.waitFor(id, { timeoutMs: 15000 }));
      const channels = ids.map((id) => keyOf(id));
      await waitUntil('200 subscriptions', async () => {
        const reply = (await raw.call('PUBSUB', 'NUMSUB', ...channels)) as Array<string | number>;
        return reply.filter((_v, i) => i % 2 === 1).every((n) => Number(n) === 1);
      });
      const clients = (await raw.call('CLIENT', 'LIST')) as string;
      const subCounts = clients.split('\n').map((line) => Number(/ sub=(\d+)/.exec(line)?.[1] ?? 0));
      expect(subCounts.some((n) => n >= 200)).toBe(true);
      await Promise.all(ids.map((id, i) => own.storeResult(success(id, i))));
      const metas = await Promise.all(waiting);
      expect(metas.map((m) => m.result)).toEqual(ids.map((_id, i) => i));
      expect(metas.map((m) => m.taskId)).toEqual(ids);
    });
  });

  test('getMetaMany returns results in order, null for missing ones', async () => {
    const a = randomUUID();
    const b = randomUUID();
    const missing = randomUUID();
    await rb.storeResult(success(a, 'a'));
    await rb.storeResult(failure(b));
    const metas = await rb.getMetaMany([a, missing, b]);
    expect(metas.map((m) => m?.status ?? null)).toEqual(['SUCCESS', null, 'FAILURE']);
    expect(metas[0]?.result).toBe('a');
    expect(await rb.getMetaMany([])).toEqual([]);
  });

  test('forget deletes the stored result', async () => {
    const id = randomUUID();
    await rb.storeResult(success(id, 1));
    await rb.forget(id);
    expect(await rb.getMeta(id)).toBeNull();
    expect(await raw.exists(keyOf(id))).toBe(0);
  });

  test('key prefixes isolate backends, keys and channels', async () => {
    const other = backend({ keyPrefix: OTHER_PREFIX });
    const id = randomUUID();
    const otherWaiting = other.waitFor(id, { timeoutMs: 400 }).catch((e: unknown) => e);
    await subscribed(keyOf(id, OTHER_PREFIX));
    await rb.storeResult(success(id, 'mine'));
    expect(await other.getMeta(id)).toBeNull();
    expect(await raw.exists(keyOf(id))).toBe(1);
    expect(await raw.exists(`celery-task-meta-${id}`)).toBe(0);
    expect(await otherWaiting).toBeInstanceOf(ResultTimeoutError);
    await other.storeResult(success(id, 'theirs'));
    expect((await other.getMeta(id))?.result).toBe('theirs');
    expect((await rb.getMeta(id))?.result).toBe('mine');
  });

  test('keyPrefix follows Celery: a bare prefix is joined with "_"', () => {
    expect(resultKeyPrefix(undefined)).toBe('');
    expect(resultKeyPrefix('app')).toBe('app_');
    for (const p of ['app:', 'app_', 'app-', 'app.']) expect(resultKeyPrefix(p)).toBe(p);
  });
});

describe('RedisKeyValueStore', () => {
  test('validates the URL and options when constructed', () => {
    const bad = (options: ConstructorParameters<typeof RedisResultBackend>[0]): unknown => {
      try {
        new RedisResultBackend(options);
      } catch (err) {
        return err;
      }
      return undefined;
    };
    expect(bad({ url: 'amqp://h' })).toMatchObject({ code: 'CELERIAC_CONFIG', key: 'resultBackend' });
    expect(bad({ url: 'redis://h/x' })).toBeInstanceOf(ConfigError);
    expect(bad({ url: 'nonsense' })).toBeInstanceOf(ConfigError);
    expect(bad({ url: REDIS_URL, expires: -1 })).toMatchObject({ key: 'expires' });
    expect((bad({ url: 'redis://:s3cret@h:1/x' }) as Error).message).not.toContain('s3cret');
  });

  test('connection errors surface as BackendError with the cause', async () => {
    const store = new RedisKeyValueStore({ url: 'redis://127.0.0.1:1/0' });
    try {
      const error = await store.connect().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(BackendError);
      expect((error as BackendError).cause).toMatchObject({ code: 'ECONNREFUSED' }); // the socket error, from Node's realm
      expect((error as BackendError).message).toMatch(/ECONNREFUSED/);
    } finally {
      await store.close();
    }
    await expect(store.get('x')).rejects.toBeInstanceOf(BackendError);
  });

  test('unsubscribes only when the last listener of a channel leaves', async () => {
    const store = new RedisKeyValueStore({ url: REDIS_URL, keyPrefix: PREFIX });
    try {
      const channel = `chan-${randomUUID()}`;
      const a: string[] = [];
      const b: string[] = [];
      const [offA, offB] = await Promise.all([
        store.subscribe(channel, (v) => a.push(v.toString())),
        store.subscribe(channel, (v) => b.push(v.toString())),
      ]);
      expect(await subscriberCount(PREFIX + channel)).toBe(1);
      await raw.publish(PREFIX + channel, 'one');
      await waitUntil('both listeners', async () => a.length === 1 && b.length === 1);
      await offA();
      expect(await subscriberCount(PREFIX + channel)).toBe(1);
      await raw.publish(PREFIX + channel, 'two');
      await waitUntil('listener b', async () => b.length === 2);
      expect(a).toEqual(['one']);
      await offB();
      expect(await subscriberCount(PREFIX + channel)).toBe(0);
    } finally {
      await store.close();
    }
  });
});
