/**
 * `closeOnSignals({ server, app, worker? })`: graceful shutdown. On the first signal: stop accepting
 * HTTP connections (idle keep-alive ones are closed, in-flight requests finish), warm-close the
 * worker (running tasks finish, the rest go back to the queue), close the app's broker and backend
 * connections, then exit 0. A second signal cold-closes the worker. Past `timeoutMs` the worker is
 * cold-closed, the app closed, and the process exits 1.
 */
import { validateCloseOnSignalsOptions, type ClosableServer, type CloseOnSignalsOptions } from './options';

/** Removes the signal listeners; `shutdown()` runs the same sequence as a signal (once). */
export interface CloseOnSignalsHandle {
  (): void;
  /** Starts the shutdown (or returns the one under way); resolves when it is over, never rejects. */
  shutdown(reason?: string): Promise<void>;
}

function closeServer(server: ClosableServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err?: Error) => {
      if (err && (err as NodeJS.ErrnoException).code !== 'ERR_SERVER_NOT_RUNNING') reject(err);
      else resolve();
    });
    server.closeIdleConnections?.();
  });
}

/**
 * Installs the signal handlers and returns a disposer.
 * @example
 * const server = express().use('/celeriac', celeriacRouter({ app, tasks: ['reports.build'] })).listen(3000);
 * closeOnSignals({ server, app, worker });
 */
export function closeOnSignals(options: CloseOnSignalsOptions): CloseOnSignalsHandle {
  const { server, app, worker, signals, timeoutMs, exit, process: source } = validateCloseOnSignalsOptions(options);
  const logger = app.logger;
  let running: Promise<void> | undefined;

  const sequence = async (): Promise<void> => {
    await closeServer(server);
    await worker?.close();
    await app.close();
  };

  const shutdown = (reason = 'shutdown'): Promise<void> => {
    if (running) return running;
    logger.info({ reason }, `Received ${reason}: closing HTTP server${worker ? ', worker' : ''} and app`);
    running = (async () => {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), timeoutMs);
        timer.unref?.();
      });
      let code = 0;
      try {
        const outcome = await Promise.race([sequence().then(() => 'done' as const), timeout]);
        if (outcome === 'timeout') {
          code = 1;
          logger.error({ timeoutMs }, `Shutdown did not finish within ${timeoutMs} ms; stopping the worker at once`);
          await worker?.close({ graceful: false }).catch(() => undefined);
          await app.close().catch((err: unknown) => logger.error({ err }, 'Closing the app failed'));
        }
      } catch (err) {
        code = 1;
        logger.error({ err }, 'Shutdown failed');
      } finally {
        clearTimeout(timer);
        dispose();
      }
      if (exit) (source.exit ?? process.exit.bind(process))(code);
    })();
    return running;
  };

  const onSignal = (signal: string): void => {
    if (running) {
      logger.warn({ signal }, `Received ${signal} again: stopping the worker at once`);
      worker?.close({ graceful: false }).catch((err: unknown) => logger.error({ err }, 'Cold worker shutdown failed'));
      return;
    }
    void shutdown(signal);
  };

  for (const signal of signals) source.on(signal, onSignal);
  function dispose(): void {
    for (const signal of signals) source.removeListener(signal, onSignal);
  }
  return Object.assign(dispose, { shutdown });
}
