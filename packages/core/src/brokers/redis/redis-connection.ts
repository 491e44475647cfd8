/** ioredis connection helpers for the Redis broker: readiness, clean shutdown, which errors are worth a retry. */
import type { Redis } from 'ioredis';

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
