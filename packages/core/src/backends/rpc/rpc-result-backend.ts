/**
 * The `rpc://` result backend over RabbitMQ, wire-compatible with Celery's (celery/backends/rpc.py,
 * celery-wire.md §4.5): results travel as messages, not stored anywhere.
 *
 * - Worker side: each state is published to the default exchange with routing key = the task's
 *   `reply_to` and `correlation_id` = the task id; JSON body `{task_id, status, result, traceback,
 *   children}`; `delivery_mode` 1 (2 with `persistent`). A message without `reply_to` gets nothing.
 * - Client side: the reply queue is named after the app's oid (what every task message carries in
 *   `reply_to`), non-durable, auto-delete, `x-expires` = result expiry; it is declared on connect and
 *   after every reconnect, consumed without acks, and results for many tasks share it, matched by
 *   `correlation_id`. States are kept in memory: `getMeta` answers from what this client received
 *   (PENDING otherwise), as Celery's does; another process cannot read them.
 * - Groups can be waited on; chords and `GroupResult.save()` are not supported (as Celery).
 *
 * URL: `rpc://` uses the broker URL (it must be amqp:// or amqps://).
 */
import amqplib, { type Channel, type ChannelModel, type ConsumeMessage, type RecoveringChannelModel } from 'amqplib';
import { parseAmqpUrl, type ParsedAmqpUrl } from '../../brokers/amqp/amqp-url';
import { BackendError, ConfigError, ResultTimeoutError } from '../../errors';
import { decodeResultMeta, encodeResultMeta, type ResultMeta } from '../../protocol/result-meta';
import { parseJson, stringifyJson } from '../../protocol/serializers';
import { READY_STATES } from '../../result/states';
import type { ChordEntry, ResultBackend, StoreOptions, WaitOptions } from '../result-backend';

export interface RpcResultBackendOptions {
  /** The AMQP broker URL (`amqp://user:pass@host:5672/vhost`). */
  brokerUrl: string;
  /** The client's reply queue name: the app's oid, the value its messages carry in reply_to. */
  oid: string;
  /** Seconds an idle reply queue lives (`x-expires`). @defaultValue 86400 */
  expires?: number;
  /** Send results persistent (delivery_mode 2, Celery's result_persistent). @defaultValue false */
  persistent?: boolean;
}

type Listener = (meta: ResultMeta) => void;

/** Received states kept at most; the oldest are dropped first. */
const MAX_CACHED = 100_000;

export class RpcResultBackend implements ResultBackend {
  private readonly url: ParsedAmqpUrl;
  private connection: RecoveringChannelModel | undefined;
  private connecting: Promise<void> | undefined;
  private channel: Channel | undefined;
  private readonly cache = new Map<string, ResultMeta>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private closed = false;

  constructor(private readonly options: RpcResultBackendOptions) {
    if (!/^(amqps?|pyamqp):\/\//i.test(options.brokerUrl)) {
      throw new ConfigError('resultBackend', `The rpc:// result backend sends results over the broker, which must be RabbitMQ (amqp:// or amqps://); brokerUrl is "${options.brokerUrl.replace(/:[^:@/]*@/, ':***@')}".`);
    }
    this.url = parseAmqpUrl(options.brokerUrl);
  }

  /** rpc:// cannot join chords (Celery: "the rpc backend does not support chords"). */
  readonly supportsChords = false;

  connect(): Promise<void> {
    this.connecting ??= this.open().catch((err: unknown) => {
      this.connecting = undefined;
      throw new BackendError(`rpc:// result backend: cannot connect to ${this.url.redacted}: ${(err as Error).message}`, { cause: err });
    });
    return this.connecting;
  }

  private async open(): Promise<void> {
    const expiresMs = Math.round((this.options.expires ?? 86400) * 1000);
    const connection = await amqplib.connect(this.url.connect, {
      noDelay: true,
      recovery: {
        initialDelay: 100,
        // as the broker's reconnect: results sent while the reply queue is gone are lost (rpc semantics)
        maxDelay: 2000,
        initialMaxRetries: 2,
        maxRetries: Infinity,
        // After every (re)connect: a fresh channel, the reply queue declared again, consumed again.
        setup: async (model: ChannelModel) => {
          const channel = await model.createChannel();
          channel.on('error', () => undefined);
          await channel.assertQueue(this.options.oid, { durable: false, autoDelete: true, arguments: { 'x-expires': expiresMs } });
          await channel.consume(this.options.oid, (msg) => this.onReply(msg), { noAck: true });
          this.channel = channel;
        },
      },
    });
    // Failures show up as rejected operations; without a listener an 'error' event would crash the process.
    connection.on('error', () => undefined);
    this.connection = connection;
  }

  private onReply(msg: ConsumeMessage | null): void {
    if (!msg) return;
    let meta: ResultMeta;
    try {
      const doc = parseJson(msg.content.toString('utf8')) as Record<string, unknown>;
      const id = typeof doc.task_id === 'string' ? doc.task_id : String(msg.properties.correlationId ?? '');
      meta = decodeResultMeta(doc, id);
    } catch {
      return; // not a result: nothing waits for it
    }
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    const previous = this.cache.get(meta.taskId);
    // A late non-final state (STARTED after SUCCESS) never hides the final one.
    if (!previous || !READY_STATES.has(previous.status) || READY_STATES.has(meta.status)) this.cache.set(meta.taskId, meta);
    for (const l of [...(this.listeners.get(meta.taskId) ?? [])]) l(meta);
  }

  async storeResult(meta: ResultMeta, _options: StoreOptions = {}): Promise<void> {
    if (!meta.replyTo) return; // nobody to tell (Gotcha 11)
    await this.connect();
    const channel = this.channel;
    if (!channel) throw new BackendError('rpc:// result backend: not connected to RabbitMQ.');
    const doc = encodeResultMeta(meta);
    // Celery's rpc body has no date_done and no extended fields.
    const body = { task_id: meta.taskId, status: doc.status, result: doc.result, traceback: doc.traceback, children: doc.children ?? [] };
    channel.publish('', meta.replyTo, Buffer.from(stringifyJson(body)), {
      correlationId: meta.correlationId ?? meta.taskId,
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: this.options.persistent ? 2 : 1,
      headers: {},
    });
  }

  async getMeta(taskId: string): Promise<ResultMeta | null> {
    return this.cache.get(taskId) ?? null;
  }

  async getMetaMany(taskIds: readonly string[]): Promise<Array<ResultMeta | null>> {
    return taskIds.map((id) => this.cache.get(id) ?? null);
  }

  async waitFor(taskId: string, options: WaitOptions = {}): Promise<ResultMeta> {
    await this.connect();
    return new Promise<ResultMeta>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const set = this.listeners.get(taskId) ?? new Set<Listener>();
      this.listeners.set(taskId, set);
      const done = (err: unknown, meta?: ResultMeta): void => {
        set.delete(listener);
        if (!set.size) this.listeners.delete(taskId);
        if (timer) clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- the abort reason as given
        if (err) reject(err);
        else resolve(meta!);
      };
      const listener: Listener = (meta) => {
        options.onMessage?.(meta);
        if (READY_STATES.has(meta.status)) done(undefined, meta);
      };
      const onAbort = (): void => done(options.signal?.reason ?? new Error('aborted'));
      set.add(listener);
      if (options.signal?.aborted) return onAbort();
      options.signal?.addEventListener('abort', onAbort);
      if (options.timeoutMs !== undefined) timer = setTimeout(() => done(new ResultTimeoutError(taskId, options.timeoutMs!)), options.timeoutMs);
      const known = this.cache.get(taskId);
      if (known) listener(known);
    });
  }

  async forget(taskId: string): Promise<void> {
    this.cache.delete(taskId);
  }

  async saveGroup(): Promise<void> {
    throw new BackendError('The rpc:// result backend cannot save groups (results are messages to one client); use the Redis backend.');
  }

  async restoreGroup(): Promise<unknown> {
    throw new BackendError('The rpc:// result backend cannot restore groups; use the Redis backend.');
  }

  async forgetGroup(): Promise<void> {}

  /** Not offered: see supportsChords. */
  chordPartReturn?: (groupId: string, groupIndex: number | null, entry: ChordEntry) => Promise<ChordEntry[] | null>;

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const set of this.listeners.values()) set.clear();
    this.listeners.clear();
    const connection = this.connection;
    this.connection = undefined;
    this.channel = undefined;
    await connection?.close().catch(() => undefined);
  }
}
