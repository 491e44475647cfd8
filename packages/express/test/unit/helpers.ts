import { randomUUID } from 'node:crypto';
import { Celeriac, createLogger, type CeleriacOptions } from '@celeriac/core';

export function makeApp(extra: CeleriacOptions = {}): Celeriac {
  const name = `express-${randomUUID()}`;
  return new Celeriac({ brokerUrl: `memory://${name}`, resultBackend: `memory://${name}`, logger: createLogger('silent'), ...extra });
}

/** Polls `check` until it returns a value that is not undefined. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('Timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}
