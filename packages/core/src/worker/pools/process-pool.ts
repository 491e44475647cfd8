/** `-P processes`: pool children are forked Node processes running pool-child.js (Celery's prefork). */
import { fork } from 'node:child_process';
import { constants } from 'node:os';
import type { Logger } from '../../logging/logger';
import type { FromChild } from './child-protocol';
import { childEntry } from './child-entry';
import type { ChildHandle, Spawner } from './child-pool';

const signalNumber = (signal: NodeJS.Signals): number | undefined => (constants.signals as Record<string, number | undefined>)[signal];

export function processSpawner(logger: Logger): Spawner {
  const entry = childEntry('processes');
  return (): ChildHandle => {
    // 'advanced' serialization: Dates, Maps, typed arrays cross as they are (structured clone).
    const child = fork(entry, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const id = child.pid ?? -1;
    const exitListeners: Array<(exit: string) => void> = [];
    let gone = false;
    const exited = (exit: string): void => {
      if (gone) return;
      gone = true;
      for (const l of exitListeners) l(exit);
    };
    child.once('exit', (code, signal) => exited(signal ? `signal ${signalNumber(signal) ?? '?'} (${signal})` : `exitcode ${code ?? 0}`));
    child.on('error', (err) => {
      logger.error({ err, pid: id }, `Pool process ${id}: ${err.message}`);
      // A process that could not be spawned emits no 'exit'.
      if (child.pid === undefined) exited(`not started: ${err.message}`);
    });
    return {
      id,
      send: (message) => {
        if (child.connected) child.send(message);
      },
      kill: () => void child.kill('SIGKILL'),
      onMessage: (listener) => child.on('message', (m) => listener(m as FromChild)),
      onExit: (listener) => void exitListeners.push(listener),
    };
  };
}
