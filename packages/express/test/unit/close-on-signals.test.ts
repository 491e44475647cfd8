import { EventEmitter, once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, MemoryBroker, MemoryKeyValueStore, Worker } from '@celeriac/core';
import { closeOnSignals } from '@celeriac/express';
import { makeApp } from './helpers';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

async function listen(): Promise<Server> {
  const server = createServer((_req, res) => res.end('ok'));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

describe('closeOnSignals', () => {
  it('on a signal closes the server, warm-closes the worker, closes the app, and removes its listeners', async () => {
    const app = makeApp();
    let finished = false;
    app.task('slow', async () => {
      await new Promise((r) => setTimeout(r, 100));
      finished = true;
      return 'done';
    });
    const worker = new Worker(app);
    await worker.start();
    const server = await listen();
    const signals = new EventEmitter();
    const order: string[] = [];
    const workerClose = jest.spyOn(worker, 'close').mockImplementation(async function (this: Worker, ...args) {
      order.push('worker');
      return Worker.prototype.close.apply(this, args);
    });
    const appClose = jest.spyOn(app, 'close');
    appClose.mockImplementation(async () => {
      order.push('app');
    });
    server.on('close', () => order.push('server'));
    const exit = jest.fn();

    const result = await app.sendTask('slow');
    await new Promise((r) => setTimeout(r, 30)); // the task is running
    const handle = closeOnSignals({ server, app, worker, exit: false, process: Object.assign(signals, { exit }) });
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    expect(signals.listenerCount('SIGINT')).toBe(1);

    signals.emit('SIGTERM', 'SIGTERM');
    await handle.shutdown();

    expect(order).toEqual(['server', 'worker', 'app']);
    expect(server.listening).toBe(false);
    expect(workerClose).toHaveBeenCalledWith();
    expect(finished).toBe(true); // warm: the running task finished
    await expect(result.state()).resolves.toBe('SUCCESS');
    expect(exit).not.toHaveBeenCalled();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    appClose.mockRestore();
    await app.close();
  });

  it('exits 0 through the injected process when exit is not disabled', async () => {
    const app = makeApp();
    const server = await listen();
    const signals = Object.assign(new EventEmitter(), { exit: jest.fn() });
    const handle = closeOnSignals({ server, app, signals: ['SIGUSR2'], process: signals });
    signals.emit('SIGUSR2', 'SIGUSR2');
    await handle.shutdown();
    expect(signals.exit).toHaveBeenCalledWith(0);
    expect(signals.listenerCount('SIGUSR2')).toBe(0);
  });

  it('exits 1 when the shutdown outlasts timeoutMs', async () => {
    const app = makeApp();
    const signals = Object.assign(new EventEmitter(), { exit: jest.fn() });
    const neverCloses = { close: () => undefined }; // its close callback never comes
    const handle = closeOnSignals({ server: neverCloses, app, timeoutMs: 50, process: signals });
    signals.emit('SIGINT', 'SIGINT');
    await handle.shutdown();
    expect(signals.exit).toHaveBeenCalledWith(1);
    expect(signals.listenerCount('SIGINT')).toBe(0);
    await app.close();
  });

  it('the disposer removes the listeners without shutting down', async () => {
    const app = makeApp();
    const server = await listen();
    const signals = new EventEmitter();
    const dispose = closeOnSignals({ server, app, exit: false, process: signals });
    expect(signals.listenerCount('SIGTERM')).toBe(1);
    dispose();
    expect(signals.listenerCount('SIGTERM')).toBe(0);
    expect(server.listening).toBe(true);
    const { port } = server.address() as AddressInfo;
    expect(port).toBeGreaterThan(0);
    server.close();
    await app.close();
  });

  it('throws a ConfigError naming a bad or unknown option', () => {
    const app = makeApp();
    const server = { close: () => undefined };
    const keyOf = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as ConfigError).key;
      }
      return undefined;
    };
    expect(keyOf(() => closeOnSignals({ server, app, timeout: 5 } as never))).toBe('timeout');
    expect(keyOf(() => closeOnSignals({ app } as never))).toBe('server');
    expect(keyOf(() => closeOnSignals({ server, app, signals: [] }))).toBe('signals');
    expect(keyOf(() => closeOnSignals({ server, app, timeoutMs: 0 }))).toBe('timeoutMs');
    expect(keyOf(() => closeOnSignals({ server, app, process: {} as never }))).toBe('process');
  });
});
