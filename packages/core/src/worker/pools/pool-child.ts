/**
 * The entry of a pool child: a worker thread (`-P threads`) or a forked process (`-P processes`).
 * It builds its own app from the AppSource (own broker and backend connections), then runs one task
 * at a time with an Executor, which stores states, sends retries and runs canvas follow-ups itself.
 * The worker enforces the hard time limit by killing this child; the soft one applies here.
 *
 * A forked child exits when its IPC channel closes, so a worker killed with SIGKILL leaves no orphans.
 */
import { getHeapStatistics } from 'node:v8';
import { isMainThread, parentPort } from 'node:worker_threads';
import type { Celeriac } from '../../app/celeriac';
import { hasWorkflow } from '../../canvas/workflow';
import { NotRegisteredError } from '../../errors';
import { toExceptionDict } from '../../protocol/exception-codec';
import type { TaskMessage } from '../../protocol/message-v2';
import { FAILURE } from '../../result/states';
import type { DeliveryInfo } from '../../brokers/broker';
import { Executor, type Outcome } from '../executor';
import { buildRequest } from '../request';
import { loadAppSource, type SourcedApp } from './app-source';
import { toWireError, toWireOutcome, type FromChild, type ToChild } from './child-protocol';

interface Channel {
  send(message: FromChild): void;
  listen(handler: (message: ToChild) => void): void;
}

function openChannel(): Channel {
  if (!isMainThread && parentPort) {
    const port = parentPort;
    return { send: (m) => port.postMessage(m), listen: (h) => port.on('message', h) };
  }
  if (process.send) {
    process.on('disconnect', () => process.exit(0));
    // Ctrl+C reaches the whole process group: the worker decides (warm shutdown), as Celery's pool children.
    for (const signal of ['SIGINT', 'SIGQUIT'] as const) process.on(signal, () => undefined);
    return { send: (m) => process.send!(m), listen: (h) => process.on('message', (m) => h(m as ToChild)) };
  }
  throw new Error('pool-child runs only as a worker thread or a forked process of a Celeriac worker.');
}

/** KiB this child uses: a thread's own V8 heap (the RSS is the whole process's), a process's RSS. */
function memoryKiB(): number {
  return Math.round((isMainThread ? process.memoryUsage().rss : getHeapStatistics().used_heap_size) / 1024);
}

class PoolChild {
  private sourced: SourcedApp | undefined;
  private executor: Executor | undefined;
  private hostname = '';

  constructor(private readonly channel: Channel) {}

  async init(message: Extract<ToChild, { type: 'init' }>): Promise<void> {
    try {
      this.hostname = message.hostname;
      this.sourced = await loadAppSource(message.appSource);
      const app = this.sourced.app;
      if (app.conf.imports.length) await app.autodiscover(app.conf.imports);
      await app.connect();
      this.executor = new Executor(app, this.hostname, { externalHardLimit: true });
      this.channel.send({ type: 'ready' });
    } catch (err) {
      this.channel.send({ type: 'init-failed', error: toWireError(err) });
    }
  }

  async run(message: TaskMessage, deliveryInfo: DeliveryInfo): Promise<void> {
    const app = this.sourced!.app;
    const executor = this.executor!;
    const task = app.tasks.get(message.task);
    const outcome: Outcome = task ? await executor.run(task, message, deliveryInfo, false) : await this.notRegistered(app, executor, message, deliveryInfo);
    const done: FromChild = { type: 'done', id: message.id, outcome: toWireOutcome(outcome), memoryKiB: memoryKiB() };
    try {
      this.channel.send(done);
    } catch {
      // The return value cannot cross (a function, a socket...): it is stored already; send a stand-in.
      this.channel.send({ ...done, outcome: { ...done.outcome, retval: `<not cloneable: ${typeof (outcome as { retval?: unknown }).retval}>` } as typeof done.outcome });
    }
  }

  /** Registered in the worker's app but not in this one (the AppSource builds another app?). */
  private async notRegistered(app: Celeriac, executor: Executor, message: TaskMessage, deliveryInfo: DeliveryInfo): Promise<Outcome> {
    const error = new NotRegisteredError(message.task);
    app.logger.error({ task: message.task, id: message.id }, `Task "${message.task}" is not registered in this pool child's app (check the worker's appSource).`);
    await executor.store(executor.meta(message, FAILURE, toExceptionDict(error), null, deliveryInfo), false).catch(() => undefined);
    if (hasWorkflow(message)) await app.workflow().afterFailure(message, buildRequest(message, this.hostname, deliveryInfo, false), error, null, FAILURE).catch(() => undefined);
    return { state: FAILURE, error, runtimeMs: 0, expected: false };
  }

  async close(): Promise<void> {
    try {
      await this.sourced?.app.close();
      await this.sourced?.close?.();
    } finally {
      process.exit(0);
    }
  }
}

const channel = openChannel();
const child = new PoolChild(channel);
channel.listen((message) => {
  const handled = message.type === 'init' ? child.init(message) : message.type === 'run' ? child.run(message.message, message.deliveryInfo) : child.close();
  handled.catch((err: unknown) => {
    // Nothing should get here (Executor turns task errors into outcomes); die so the worker replaces us.
    process.stderr.write(`celeriac pool child: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(70);
  });
});
