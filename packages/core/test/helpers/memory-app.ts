/** An app on a memory broker and result store of its own (a fresh hub name), logging silenced. */
import { randomUUID } from 'node:crypto';
import { Celeriac, createLogger, type CeleriacOptions } from '../../src';

export function memoryApp(extra: CeleriacOptions = {}): Celeriac {
  const name = randomUUID();
  return new Celeriac({ brokerUrl: `memory://${name}`, resultBackend: `memory://${name}`, logger: createLogger('silent'), ...extra });
}
