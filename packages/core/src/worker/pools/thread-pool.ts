/** `-P threads`: pool children are worker_threads running pool-child.js. */
import { Worker as Thread } from 'node:worker_threads';
import type { Logger } from '../../logging/logger';
import type { FromChild } from './child-protocol';
import { childEntry } from './child-entry';
import type { ChildHandle, Spawner } from './child-pool';

export function threadSpawner(logger: Logger): Spawner {
  const entry = childEntry('threads');
  return (): ChildHandle => {
    const thread = new Thread(entry);
    const id = thread.threadId;
    // An uncaught error ends the thread; 'exit' follows and the pool replaces it.
    thread.on('error', (err) => logger.error({ err, thread: id }, `Pool thread ${id} crashed: ${err instanceof Error ? err.message : String(err)}`));
    return {
      id,
      send: (message) => thread.postMessage(message),
      kill: () => void thread.terminate(),
      onMessage: (listener) => thread.on('message', (m: FromChild) => listener(m)),
      onExit: (listener) => thread.once('exit', (code) => listener(`exitcode ${code}`)),
    };
  };
}
