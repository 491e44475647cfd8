/**
 * Redis broker, wire-compatible with Kombu's Redis transport (celery-wire.md §3): a Python Celery
 * client or worker can share the same database, queues and ack bookkeeping.
 *
 * Features: direct and topic routing through `_kombu.binding.*` sets, fanout exchanges over pub/sub
 * (redis-fanout.ts), priorities in Kombu's four buckets (0 served first), ack emulation in
 * `unacked`/`unacked_index`, visibility-timeout restore under `unacked_mutex` (redis-restore.ts),
 * Kombu's `global_keyprefix`. Ours on top: delayed delivery (`publishDelayed`, the sorted set
 * `celeriac.delayed` moved by consuming Celeriac workers; design and limits in redis-delayed.ts), so no
 * worker holds an ETA message past the visibility timeout (`maxHoldSeconds`).
 *
 * URL: `redis://[[user]:password@]host[:port][/db]` or `rediss://...` (TLS); see redis-url.ts.
 *
 * Options ({@link RedisBrokerOptions}): `keyPrefix` (Kombu `global_keyprefix`), `visibilityTimeout`
 * (seconds, 3600), `connectionTimeout` (seconds, 4), `batchSize` (messages per fetch, 100).
 *
 * Connections (redis-connection.ts): one command connection (no auto-pipelining; Lua scripts by
 * EVALSHA), one blocking connection per consume() of list queues (BRPOP, redis-consumer.ts) and one
 * subscriber connection shared by all fanout consumers. While Redis is unreachable every command
 * fails at once with a BrokerConnectionError: publish retries are the caller's retry policy,
 * consumers report through `onError` and poll again with a backoff while ioredis reconnects.
 *
 * Exchange types are kept in this instance, as Kombu keeps them in the client (broker.ts): publishing
 * to an exchange declared fanout is `PUBLISH [prefix]/{db}.<exchange>[/<routing key>]`, and a queue
 * bound to one is consumed by PSUBSCRIBE. Kombu also adds the fanout binding to `_kombu.binding.*`,
 * and so do we (a client that does not know the exchange as fanout routes through it).
 *
 * Where we differ from Kombu 5.2.4, on purpose: a message no binding matches is refused with a
 * BrokerError (Kombu drops it); each queue's copy gets its own delivery tag; a popped value that is
 * not a Kombu envelope is moved to our dead-letter list `celeriac.dead_letter` and reported through
 * `onError` (Kombu's consumer would crash on it); restore differences: see redis-restore.ts.
 */
import { ExchangeTypes } from '../exchange-types';
import { randomUUID } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import { BrokerError, ConfigError } from '../../errors';
import type { WireMessage } from '../../protocol/wire-message';
import type { Broker, BrokerCapabilities, ConsumeOptions, ConsumerStatus, DeliveryHandler, ExchangeType, QueueDeclaration, Route, Subscription } from '../broker';
import { priorityStep } from '../priority';
import { ConsumeWindow } from './consume-window';
import { DEFAULT_VISIBILITY_TIMEOUT, KombuKeys, bindingMember, encodeEnvelope, matchBindings, parseBindingMember, topicKeyToPattern } from './keys';
import { AckBatcher } from './redis-acks';
import { RedisClients, quit } from './redis-connection';
import { RedisListConsumer, type ListConsumerContext } from './redis-consumer';
import { RedisDelayedMover } from './redis-delayed';
import { RedisFanout } from './redis-fanout';
import { restoreVisible } from './redis-restore';
import type { ScriptedRedis } from './redis-scripts';
import { parseRedisUrl } from './redis-url';

export interface RedisBrokerOptions {
  /** `redis://` or `rediss://` URL. */
  url: string;
  /** Prepended to every key and channel (Kombu's `global_keyprefix`). @defaultValue '' */
  keyPrefix?: string;
  /** Seconds an unacked message stays reserved before any consumer restores it. @defaultValue 3600 */
  visibilityTimeout?: number;
  /**
   * Seconds to wait for a connection (Celery's `broker_connection_timeout`); 0 leaves it to the OS.
   * A `socket_connect_timeout` in the URL wins. @defaultValue 4
   */
  connectionTimeout?: number;
  /** Most messages taken per fetch. @defaultValue 100 */
  batchSize?: number;
  /**
   * Seconds between watchdog rounds: a list consumer that made no progress for a BRPOP timeout plus
   * one round while its queues have messages gets a new connection. 0 disables it. @defaultValue 5
   */
  consumerWatchdogInterval?: number;
}

/** How often consumers run restoreVisible (Kombu's worker: every 10 s). */
const RESTORE_INTERVAL_MS = 10_000;

/** A publish waiting for the pipeline of its tick (see lpush). */
interface PendingPush {
  key: string;
  value: string;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Values one LPUSH carries at most. Consecutive pushes to one list go as one LPUSH with many values:
 * Redis puts each in front of the one before, exactly where separate LPUSHes would, at a fraction of
 * the cost per message on both sides.
 */
const MAX_VALUES_PER_LPUSH = 1000;

/**
 * Adds to `pipe` one LPUSH per run of consecutive `items` with the same list key (each at most
 * MAX_VALUES_PER_LPUSH long), in order; returns the runs, one per LPUSH added.
 */
function lpushRuns<T extends { key: string; value: string }>(pipe: ChainableCommander, items: readonly T[]): T[][] {
  const runs: T[][] = [];
  let run: T[] | undefined;
  for (const item of items) {
    if (run && run[0]!.key === item.key && run.length < MAX_VALUES_PER_LPUSH) run.push(item);
    else runs.push((run = [item]));
  }
  for (const r of runs) pipe.lpush(r[0]!.key, ...r.map((p) => p.value));
  return runs;
}

/** The Kombu-compatible Redis transport. */
export class RedisBroker implements Broker {
  readonly capabilities: BrokerCapabilities = { priority: true, priorityOrder: 'low-first', fanout: true, nativeDelay: true };
  /** The visibility timeout: a message unacked that long is restored for another consumer. */
  readonly maxHoldSeconds: number;
  /** Key names, with the key prefix applied. */
  readonly keys: KombuKeys;
  /** The database number from the URL (also the `/{db}.` of fanout channels). */
  readonly db: number;
  private readonly clients: RedisClients;
  private readonly cmd: ScriptedRedis;
  private readonly visibilityTimeoutMs: number;
  private readonly acks: AckBatcher;
  private readonly fanout: RedisFanout;
  private readonly delayed: RedisDelayedMover;
  private readonly listContext: ListConsumerContext;
  private readonly consumers = new Set<RedisListConsumer>();
  /** Exchange types declared through this broker (client-side, as Kombu keeps them). */
  private lpushBatch: PendingPush[] | null = null;
  private readonly exchangeTypes = new ExchangeTypes();
  /** Fanout queue -> the pattern its consumers PSUBSCRIBE (Kombu's `_fanout_queues`). */
  private readonly fanoutQueues = new Map<string, string>();
  private lastRestoreAt = 0;

  constructor(options: RedisBrokerOptions) {
    const parsed = parseRedisUrl(options.url);
    const visibility = options.visibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT;
    if (!(visibility > 0)) throw new ConfigError('visibilityTimeout', `visibilityTimeout must be a positive number of seconds, got ${visibility}.`);
    const batch = options.batchSize ?? 100;
    if (!Number.isInteger(batch) || batch < 1) throw new ConfigError('batchSize', `batchSize must be a positive integer, got ${batch}.`);
    const watchdog = options.consumerWatchdogInterval ?? 5;
    if (!(watchdog >= 0)) throw new ConfigError('consumerWatchdogInterval', `consumerWatchdogInterval must be a number of seconds >= 0, got ${watchdog}.`);
    const timeout = options.connectionTimeout ?? 4;
    if (!(timeout >= 0)) throw new ConfigError('connectionTimeout', `connectionTimeout must be a number of seconds >= 0, got ${timeout}.`);
    this.keys = new KombuKeys(options.keyPrefix ?? '');
    this.db = parsed.db;
    this.visibilityTimeoutMs = visibility * 1000;
    this.maxHoldSeconds = visibility;
    this.clients = new RedisClients(parsed, timeout);
    this.cmd = this.clients.cmd;
    this.acks = new AckBatcher(this.clients, this.keys);
    this.fanout = new RedisFanout(this.clients);
    this.delayed = new RedisDelayedMover({ clients: this.clients, keys: this.keys });
    this.listContext = {
      clients: this.clients,
      keys: this.keys,
      acks: this.acks,
      batchSize: batch,
      watchdogMs: Math.round(watchdog * 1000),
      delayedAdded: (delayMs) => this.delayed.wakeIn(delayMs),
      restoreIfDue: () => {
        if (Date.now() - this.lastRestoreAt < RESTORE_INTERVAL_MS) return undefined;
        this.lastRestoreAt = Date.now();
        return this.restoreVisible();
      },
    };
  }

  async connect(): Promise<void> {
    this.clients.closed = false;
    if (this.cmd.status === 'ready') return;
    await this.clients.open(this.cmd);
  }

  async declareExchange(name: string, type: ExchangeType): Promise<void> {
    this.exchangeTypes.declare(name, type);
  }

  async declareQueue(queue: QueueDeclaration): Promise<void> {
    if (queue.exchangeType) await this.declareExchange(queue.exchange, queue.exchangeType);
    if (queue.exchange === '') return; // the default exchange routes by queue name, no binding
    const type = this.exchangeTypes.typeOf(queue.exchange);
    if (type === 'fanout') this.fanoutQueues.set(queue.name, this.keys.fanoutPattern(this.db, queue.exchange, queue.routingKey));
    const pattern = type === 'topic' ? topicKeyToPattern(queue.routingKey) : '';
    await this.clients.run(() => this.cmd.sadd(this.keys.binding(queue.exchange), bindingMember(queue.routingKey, pattern, queue.name)));
  }

  async publish(message: WireMessage, route: Route): Promise<void> {
    if (this.exchangeTypes.isFanout(route.exchange)) {
      // redis.py _put_fanout; nobody subscribed: lost, as with Kombu
      await this.clients.run(() => this.cmd.publish(this.fanoutChannel(route), encodeEnvelope(message, route, randomUUID())));
      return;
    }
    const queues = route.exchange === '' ? [route.routingKey] : this.routable(route, await this.bindings(route.exchange));
    const step = priorityStep(message.properties.priority);
    // A fresh delivery tag per copy: Kombu reuses one for all queues, which would collide in `unacked`.
    // Issued in one tick, the LPUSHes are written together: one round trip.
    await this.clients.run(() => Promise.all(queues.map((q) => this.lpush(this.keys.queueList(q, step), encodeEnvelope(message, route, randomUUID())))));
  }

  /**
   * Delivers `message` to `queue` (the list of its priority) in `delaySeconds`, through the sorted set
   * `celeriac.delayed` (redis-delayed.ts): moved back by a consuming Celeriac worker when due, `eta`
   * header unchanged. Resolves once Redis stored it.
   */
  async publishDelayed(message: WireMessage, queue: string, delaySeconds: number): Promise<void> {
    await this.delayed.add(message, queue, delaySeconds);
  }

  /**
   * Moves the due delayed messages to their queues now; returns how many. Consumers do it about once a
   * second by themselves; atomic, so any number of brokers may call it at once.
   */
  async moveDelayed(): Promise<number> {
    return this.delayed.moveDue();
  }

  /**
   * LPUSH, coalescing publishes made in the same tick: the first is written at once (a lone awaited
   * publish pays no batching delay), the ones that follow it in this tick go out as one pipeline, one
   * LPUSH per run of pushes to the same list.
   */
  private lpush(key: string, value: string): Promise<unknown> {
    if (this.lpushBatch) {
      const batch = this.lpushBatch;
      return new Promise((resolve, reject) => batch.push({ key, value, resolve, reject }));
    }
    const batch: PendingPush[] = (this.lpushBatch = []);
    process.nextTick(() => {
      this.lpushBatch = null;
      if (!batch.length) return;
      const pipe = this.cmd.pipeline();
      const runs = lpushRuns(pipe, batch);
      pipe.exec().then(
        (res) => {
          runs.forEach((run, i) => {
            const [err, v] = res?.[i] ?? [new BrokerError('Redis returned no reply for an LPUSH of the pipeline.'), null];
            for (const p of run) if (err) p.reject(err);
            else p.resolve(v);
          });
        },
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      );
    });
    return this.cmd.lpush(key, value);
  }

  async publishMany(items: ReadonlyArray<{ message: WireMessage; route: Route }>): Promise<void> {
    if (!items.length) return;
    const isFanout = (exchange: string): boolean => this.exchangeTypes.isFanout(exchange);
    const exchanges = [...new Set(items.map((i) => i.route.exchange).filter((e) => e !== '' && !isFanout(e)))];
    const tables = new Map<string, string[]>();
    if (exchanges.length) {
      const members = await this.clients.run(() => this.clients.exec(exchanges.reduce((p, e) => p.smembers(this.keys.binding(e)), this.cmd.pipeline())));
      exchanges.forEach((e, i) => tables.set(e, members[i] as string[]));
    }
    // In order: fanout PUBLISHes as they come, list pushes as one LPUSH per run to the same list.
    const pipe = this.cmd.pipeline();
    let pushes: Array<{ key: string; value: string }> = [];
    const pushRuns = (): void => {
      lpushRuns(pipe, pushes);
      pushes = [];
    };
    for (const { message, route } of items) {
      if (isFanout(route.exchange)) {
        pushRuns();
        pipe.publish(this.fanoutChannel(route), encodeEnvelope(message, route, randomUUID()));
        continue;
      }
      const queues = route.exchange === '' ? [route.routingKey] : this.routable(route, tables.get(route.exchange)!);
      const step = priorityStep(message.properties.priority);
      for (const q of queues) pushes.push({ key: this.keys.queueList(q, step), value: encodeEnvelope(message, route, randomUUID()) });
    }
    pushRuns();
    await this.clients.run(() => this.clients.exec(pipe));
  }

  async deleteQueue(queue: QueueDeclaration): Promise<void> {
    const multi = this.cmd.multi();
    for (const key of this.keys.queueLists(queue.name)) multi.del(key);
    if (queue.exchange !== '') {
      const pattern = this.exchangeTypes.typeOf(queue.exchange) === 'topic' ? topicKeyToPattern(queue.routingKey) : '';
      multi.srem(this.keys.binding(queue.exchange), bindingMember(queue.routingKey, pattern, queue.name));
    }
    await this.clients.run(() => this.clients.exec(multi));
    this.fanoutQueues.delete(queue.name);
  }

  async purge(queue: string): Promise<number> {
    const multi = this.cmd.multi();
    for (const key of this.keys.queueLists(queue)) multi.llen(key).del(key);
    const res = await this.clients.run(() => this.clients.exec(multi));
    return res.reduce<number>((n, v, i) => (i % 2 === 0 ? n + Number(v) : n), 0);
  }

  async queueLength(queue: string): Promise<number> {
    const lens = await this.clients.run(() => Promise.all(this.keys.queueLists(queue).map((k) => this.cmd.llen(k))));
    return lens.reduce((a, b) => a + b, 0);
  }

  /**
   * Queues bound to a fanout exchange (as declared through this broker) are subscribed to; the others
   * are consumed from their lists. Both share the handler's prefetch window.
   */
  async consume(queues: readonly string[], handler: DeliveryHandler, options: ConsumeOptions): Promise<Subscription> {
    if (!queues.length) throw new BrokerError('consume() needs at least one queue.');
    this.clients.ensureUsable();
    const unique = [...new Set(queues)];
    const window = new ConsumeWindow(handler, options.prefetch, options.onError, options.onRecover);
    const fanout = unique.filter((q) => this.fanoutQueues.has(q)).map((q) => ({ queue: q, pattern: this.fanoutQueues.get(q)! }));
    const lists = unique.filter((q) => !this.fanoutQueues.has(q));
    const parts: Array<{ cancel(): Promise<void>; status(): ConsumerStatus }> = [];
    try {
      if (fanout.length) parts.push(await this.fanout.consume(fanout, window));
      if (lists.length) {
        const c = await RedisListConsumer.start(this.listContext, lists, window);
        this.consumers.add(c);
        this.delayed.start(options.onError); // list consumers move the due delayed messages
        let moving = true;
        const stopMoving = (): void => {
          if (moving) this.delayed.stop();
          moving = false;
        };
        const done = (): void => {
          this.consumers.delete(c);
          stopMoving();
        };
        parts.push({ cancel: () => c.cancel().finally(done), status: () => c.status() });
      }
    } catch (err) {
      await Promise.all(parts.map((p) => p.cancel()));
      throw err;
    }
    let cancelling: Promise<void> | undefined;
    return {
      cancel: () => (cancelling ??= Promise.all(parts.map((p) => p.cancel())).then(() => undefined)),
      status: () => parts.map((p) => p.status()).find((s) => !s.consuming) ?? { consuming: true },
    };
  }

  /**
   * Kombu's `restore_visible` (redis-restore.ts): puts every unacked message older than the visibility
   * timeout back at the head of its queue, marked redelivered. Returns how many were restored; 0 when
   * another consumer holds the mutex. Consumers call it on start and every 10 s.
   */
  async restoreVisible(): Promise<number> {
    return restoreVisible({ clients: this.clients, keys: this.keys, visibilityTimeoutMs: this.visibilityTimeoutMs });
  }

  isRecoverable(error: unknown): boolean {
    return this.clients.isRecoverable(error);
  }

  /** Stops consumers, flushes pending acks and disconnects. Messages still held by handlers stay unacked. */
  async close(): Promise<void> {
    this.clients.closed = true;
    await Promise.all([...this.consumers].map((c) => c.cancel()));
    this.consumers.clear();
    await this.delayed.close();
    await this.fanout.close();
    await this.acks.settled();
    await quit(this.cmd);
  }

  // ---------------------------------------------------------------------------------------------
  // Routing

  private fanoutChannel(route: Route): string {
    return this.keys.fanoutChannel(this.db, route.exchange, route.routingKey);
  }

  private async bindings(exchange: string): Promise<string[]> {
    return this.clients.run(() => this.cmd.smembers(this.keys.binding(exchange)));
  }

  private routable(route: Route, members: readonly string[]): string[] {
    const queues = matchBindings(members.map(parseBindingMember).filter((b) => b !== undefined), route.routingKey);
    if (!queues.length) {
      // Kombu drops such a message silently; we refuse it so the caller knows.
      throw new BrokerError(`No queue bound to exchange "${route.exchange}" with routing key "${route.routingKey}": message not routable. Declare the queue first.`);
    }
    return queues;
  }
}
