/** workerDeduplicateSuccessfulTasks: an acksLate task delivered again after it already succeeded is acked, not re-run. */
import { randomUUID } from 'node:crypto';
import { Celeriac, MemoryBroker, MemoryKeyValueStore, Worker, createLogger } from '../../src';
import { dateDoneNow } from '../../src/protocol/result-meta';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

async function scenario(deduplicate: boolean, storedBefore: boolean): Promise<number> {
  const hub = `memory://${randomUUID()}`;
  const app = new Celeriac({ brokerUrl: hub, resultBackend: hub, taskAcksLate: true, workerDeduplicateSuccessfulTasks: deduplicate, logger: createLogger('silent') });
  let runs = 0;
  const t = app.task('t.once', async () => {
    runs++;
    return 'done';
  });
  const id = randomUUID();
  if (storedBefore) await app.resultBackend().storeResult({ taskId: id, status: 'SUCCESS', result: 'done', traceback: null, children: [], dateDone: dateDoneNow() });
  await t.applyAsync([], { taskId: id });
  // A first consumer takes the message and gives it back: it is now marked redelivered, as after a lost ack.
  // Every delivery it gets before the cancel goes back too, so the message is never held.
  let gaveBack!: () => void;
  const givenBack = new Promise<void>((resolve) => (gaveBack = resolve));
  const first = await app.broker.consume(['celery'], async (d) => {
    await d.restore();
    gaveBack();
  }, { prefetch: 1 });
  await givenBack;
  await first.cancel();
  const worker = new Worker(app, { remoteControl: false });
  await worker.start();
  try {
    await worker.whenIdle();
    for (let i = 0; i < 100 && (await app.broker.queueLength('celery')) > 0; i++) await new Promise((r) => setTimeout(r, 5));
    await app.asyncResult(id).get({ timeout: 5000 });
    await worker.whenIdle();
    return runs;
  } finally {
    await worker.close();
    await app.close();
  }
}

it('does not run a redelivered acksLate task that already has SUCCESS', async () => {
  await expect(scenario(true, true)).resolves.toBe(0);
});

it('runs it when the setting is off (the default), or when nothing was stored', async () => {
  await expect(scenario(false, true)).resolves.toBe(1);
  await expect(scenario(true, false)).resolves.toBe(1);
});
