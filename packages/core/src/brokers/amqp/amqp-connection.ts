/**
 * The AMQP broker's one connection, kept alive by amqplib's recovery (exponential backoff with
 * jitter, 100 ms to 2 s, forever once it has connected: a broker back is noticed within 2 s). The
 * first connect() is not retried: an unreachable broker fails it at once with a BrokerConnectionError,
 * as on Redis.
 *
 * Channels are made from the live connection only (`model()`), never through the recovering wrapper,
 * which would queue a channel request for as long as the broker is away: a caller waits at most the
 * connection timeout, then gets a BrokerConnectionError (publish retries are the app's policy).
 * After each reconnect the listeners registered with `onReconnect` run (the broker redeclares what it
 * declared; each consumer opens a new channel); `onDisconnect` ones run when the connection drops.
 *
 * `withChannel` runs declarations and checks on a throwaway channel, so that a channel error
 * (404, 406) closes that channel only, never one in use by publishers or consumers.
 */
import * as amqplib from 'amqplib';
import type { Channel, ChannelModel, RecoveringChannelModel } from 'amqplib';
import { BrokerConnectionError, BrokerError } from '../../errors';
import { wrapAmqpError } from './amqp-errors';
import type { ParsedAmqpUrl } from './amqp-url';

export interface AmqpConnectionOptions {
  /** Seconds between heartbeats; 0 disables them; undefined accepts the server's. */
  heartbeat?: number;
  /** Milliseconds to wait for a connection (TCP and handshake); also how long a caller waits for a reconnect. */
  connectTimeoutMs: number;
}

type Listener<T> = (value: T) => void;

export class AmqpConnection {
  /** The URL with its password masked. */
  readonly redacted: string;
  /** Increases with every (re)connection; a channel of an older generation is dead. */
  generation = 0;
  private recovering: RecoveringChannelModel | null = null;
  private opening: Promise<void> | null = null;
  private live: ChannelModel | null = null;
  private closed = true;
  private lastError: unknown;
  private readonly waiters = new Set<() => void>();
  private readonly reconnectListeners = new Set<Listener<ChannelModel>>();
  private readonly disconnectListeners = new Set<Listener<Error>>();
  private readonly retryListeners = new Set<Listener<{ attempt: number; delay: number; error: Error }>>();

  constructor(
    private readonly url: ParsedAmqpUrl,
    private readonly options: AmqpConnectionOptions,
  ) {
    this.redacted = url.redacted;
  }

  /** True while a connection is up. */
  get connected(): boolean {
    return this.live !== null;
  }

  /** Connects, or waits for the connection on its way; BrokerConnectionError when the first attempt fails. */
  async open(): Promise<void> {
    this.closed = false;
    if (this.recovering) {
      await this.model();
      return;
    }
    this.opening ??= this.start().finally(() => (this.opening = null));
    return this.opening;
  }

  private async start(): Promise<void> {
    const timeout = this.options.connectTimeoutMs;
    const recovering = await amqplib.connect(
      { ...this.url.connect, heartbeat: this.options.heartbeat },
      {
        noDelay: true, // amqplib leaves Nagle on: every publish would wait for the previous ack
        timeout: timeout || undefined,
        clientProperties: { connection_name: 'celeriac' },
        // maxDelay: at most 2 s between attempts, so a worker consumes again within ~2 s of the broker's return
        recovery: { waitForConnect: false, initialMaxRetries: 0, maxRetries: Infinity, initialDelay: 100, maxDelay: 2000 },
      },
    );
    recovering.on('connect', (model: ChannelModel) => {
      const reconnect = this.generation > 0;
      this.live = model;
      this.generation++;
      this.lastError = undefined;
      for (const w of [...this.waiters]) w();
      if (reconnect) for (const l of this.reconnectListeners) l(model);
    });
    recovering.on('disconnect', (err: Error) => {
      this.live = null;
      this.lastError = err;
      for (const l of this.disconnectListeners) l(err);
    });
    recovering.on('reconnect-scheduled', (info: { attempt: number; delay: number; error: Error }) => {
      for (const l of this.retryListeners) l(info);
    });
    recovering.on('connect-failed', (err: Error) => (this.lastError = err));
    recovering.on('error', (err: Error) => (this.lastError = err)); // a close with an error follows
    recovering.on('reconnect-failed', (err: Error) => (this.lastError = err));
    try {
      await recovering.waitForConnect();
    } catch (err) {
      await recovering.close().catch(() => undefined);
      throw new BrokerConnectionError(`Cannot connect to RabbitMQ at ${this.redacted}: ${(err as Error).message}`, { cause: err });
    }
    if (this.closed) {
      await recovering.close().catch(() => undefined);
      throw new BrokerError('AMQP broker was closed while connecting.');
    }
    this.recovering = recovering;
  }

  /** The live connection, waiting up to the connect timeout for a reconnect in progress. */
  async model(): Promise<ChannelModel> {
    if (this.live) return this.live;
    if (this.closed) throw new BrokerError(`AMQP broker ${this.redacted} is closed.`);
    if (!this.recovering && !this.opening) throw new BrokerConnectionError(`AMQP broker ${this.redacted} is not connected: call connect() first.`);
    const ms = this.options.connectTimeoutMs || 10_000;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
    if (this.live) return this.live;
    throw new BrokerConnectionError(`RabbitMQ at ${this.redacted} is unreachable (still reconnecting after ${ms} ms).`, { cause: this.lastError });
  }

  /** Runs `fn` on a channel of its own, closed afterwards; its errors wrapped. */
  async withChannel<T>(fn: (channel: Channel) => Promise<T>, where: string): Promise<T> {
    const model = await this.model();
    let channel: Channel;
    try {
      channel = await model.createChannel();
    } catch (err) {
      throw wrapAmqpError(err, `${this.redacted} (${where})`);
    }
    channel.on('error', () => undefined); // the failing operation's promise carries it
    try {
      return await fn(channel);
    } catch (err) {
      throw wrapAmqpError(err, `${this.redacted} (${where})`);
    } finally {
      channel.close().catch(() => undefined);
    }
  }

  onReconnect(listener: Listener<ChannelModel>): () => void {
    this.reconnectListeners.add(listener);
    return () => this.reconnectListeners.delete(listener);
  }

  onDisconnect(listener: Listener<Error>): () => void {
    this.disconnectListeners.add(listener);
    return () => this.disconnectListeners.delete(listener);
  }

  onRetry(listener: Listener<{ attempt: number; delay: number; error: Error }>): () => void {
    this.retryListeners.add(listener);
    return () => this.retryListeners.delete(listener);
  }

  /** Closes the connection and stops reconnecting; waiting callers get a BrokerError. */
  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    const recovering = this.recovering;
    this.recovering = null;
    this.live = null;
    for (const w of [...this.waiters]) w();
    if (recovering) await recovering.close().catch(() => undefined);
  }
}
