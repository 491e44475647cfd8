/**
 * The Redis broker's connections: one command connection (Lua scripts by EVALSHA; commands are
 * written as issued, without waiting for replies) shared by every part of the broker, a factory for the blocking (BRPOP) and subscriber (PSUBSCRIBE)
 * ones, and the error policy: while Redis is unreachable every command fails at once with a
 * BrokerConnectionError (no offline queue, no retry of a command in flight, as a command half sent
 * may have run). Plus the ioredis helpers: readiness, clean shutdown, which errors are worth a retry.
 */
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { BrokerConnectionError, BrokerError, CeleriacError } from '../../errors';
import { defineScripts, type ScriptedRedis } from './redis-scripts';
import type { ParsedRedisUrl } from './redis-url';

const RECOVERABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'ENOTCONN']);
const RECOVERABLE_MESSAGE = /Connection is closed|Stream isn't writeable|Command timed out|not connected|^(LOADING|READONLY|MASTERDOWN|TRYAGAIN|BUSY)\b/;

/** Driver errors worth a retry or reconnect (Kombu's connection_errors for redis-py). */
export function isRecoverableRedisError(e: { code?: unknown; name?: unknown; message?: unknown }): boolean {
  return (
    (typeof e.code === 'string' && RECOVERABLE_CODES.has(e.code)) ||
    e.name === 'MaxRetriesPerRequestError' ||
    (typeof e.message === 'string' && RECOVERABLE_MESSAGE.test(e.message))
  );
}

export function waitReady(client: Redis, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      client.off('ready', onReady).off('end', onEnd);
      resolve(ok);
    };
    const onReady = (): void => done(true);
    const onEnd = (): void => done(false);
    const timer = setTimeout(() => done(false), ms);
    client.on('ready', onReady).on('end', onEnd);
  });
}

export async function quit(client: Redis): Promise<void> {
  if (client.status === 'end' || client.status === 'wait') return; // (disconnect() here would leave a 2 s timer)
  if (client.status === 'ready') {
    try {
      await client.quit();
      return;
    } catch {
      // fall through
    }
  }
  client.disconnect();
}

/** A pipeline or MULTI, as `exec` takes it. */
export interface Executable {
  exec(): Promise<[error: Error | null, result: unknown][] | null>;
}

/** The broker's command connection, its connection factory and its error policy. */
export class RedisClients {
  /** The command connection. */
  readonly cmd: ScriptedRedis;
  /** The URL with its password masked. */
  readonly redacted: string;
  /** Set by the broker's close(): commands then fail with a BrokerError. */
  closed = false;
  private readonly options: RedisOptions;
  private readonly connectTimeoutMs: number;
  private lastError: unknown;

  /** `connectionTimeout` in seconds; the URL's socket_connect_timeout (written for this URL) wins. */
  constructor(url: ParsedRedisUrl, connectionTimeout: number) {
    this.redacted = url.redacted;
    this.options = {
      ...url.options,
      connectTimeout: url.options.connectTimeout ?? Math.round(connectionTimeout * 1000),
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
    };
    this.connectTimeoutMs = this.options.connectTimeout!;
    // No auto-pipelining: it costs a Pipeline object per command and a tick of delay, which made one-by-one
    // awaited publishes ~30% slower; batches are explicit (publishMany, the fetch script, ack script calls).
    const cmd = this.newClient({ enableAutoPipelining: false });
    defineScripts(cmd);
    this.cmd = cmd as ScriptedRedis;
  }

  /**
   * A connection that reconnects by itself (backoff up to 2 s) once it has been ready, but not before:
   * a failed connect() ends, and retrying it is the caller's decision.
   */
  newClient(overrides: RedisOptions = {}): Redis {
    let wasReady = false;
    const client = new Redis({ ...this.options, ...overrides, retryStrategy: (times) => (wasReady ? Math.min(times * 100, 2000) : null) });
    client.once('ready', () => (wasReady = true));
    client.on('error', (err: unknown) => (this.lastError = err));
    return client;
  }

  /** Connects `client`, or waits for it when already on its way; BrokerConnectionError on failure. */
  async open(client: Redis): Promise<void> {
    if (client.status === 'ready') return;
    if (client.status === 'connecting' || client.status === 'connect' || client.status === 'reconnecting') {
      // already on its way (e.g. ioredis reconnecting after a drop): wait for it, keep its retries
      const ms = this.connectTimeoutMs || 10_000;
      if (await waitReady(client, ms)) return;
      throw new BrokerConnectionError(`Cannot connect to Redis at ${this.redacted}: still not connected after ${ms} ms.`, { cause: this.lastError });
    }
    this.lastError = undefined;
    try {
      await client.connect();
    } catch (err) {
      if (client.status !== 'end') client.disconnect();
      const cause = this.lastError ?? err;
      throw new BrokerConnectionError(`Cannot connect to Redis at ${this.redacted}: ${(cause as Error).message ?? String(cause)}`, { cause });
    }
  }

  ensureUsable(): void {
    if (this.closed) throw new BrokerError('Redis broker is closed.');
    // A lazy client would connect on its own at the first command; connecting is connect()'s job.
    if (this.cmd.status === 'wait' || this.cmd.status === 'end') {
      throw new BrokerConnectionError(`Redis broker ${this.redacted} is not connected: call connect() first.`, { cause: this.lastError });
    }
  }

  /** Runs a command after ensureUsable(), its error wrapped. */
  async run<T>(op: () => Promise<T>): Promise<T> {
    this.ensureUsable();
    try {
      return await op();
    } catch (err) {
      throw this.wrap(err);
    }
  }

  /** Runs a pipeline or MULTI; the first failed command fails the whole call. */
  async exec(pipe: Executable): Promise<unknown[]> {
    const res = await pipe.exec();
    if (!res) throw new BrokerError('Redis transaction aborted.');
    for (const [error] of res) if (error) throw error;
    return res.map(([, v]) => v);
  }

  isRecoverable(error: unknown): boolean {
    if (error instanceof BrokerConnectionError) return true;
    if (error instanceof CeleriacError || !error || typeof error !== 'object') return false;
    return isRecoverableRedisError(error);
  }

  /** A driver error as a BrokerConnectionError (worth a retry) or BrokerError, naming the server. */
  wrap(err: unknown): Error {
    if (err instanceof CeleriacError) return err;
    const message = `Redis ${this.redacted}: ${err instanceof Error ? err.message : String(err)}`;
    return this.isRecoverable(err) ? new BrokerConnectionError(message, { cause: err }) : new BrokerError(message, { cause: err });
  }
}
