/**
 * Delayed delivery on the memory broker (`publishDelayed`, a timer) and `workerEtaTaskLimit`: beyond the
 * limit a far-enough ETA task goes to the broker's delayed delivery; with a broker that has none, it
 * keeps its prefetch slot until due, so the worker stops taking more (Celery 5.5's behaviour), never
 * dropping or refetching a message.
 */
import { type Celeriac, MemoryBroker, MemoryKeyValueStore, Worker } from '../../src';
import type { Delivery } from '../../src/brokers/broker';
import { testMessage } from '../contract/broker.contract';
import { memoryApp } from '../helpers/memory-app';
import { waitFor } from '../helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('MemoryBroker.publishDelayed', () => {
  it('delivers the message to its queue once the delay is over, headers unchanged', async () => {
    const broker = new MemoryBroker({ name: `delayed-${Date.now()}` });
    await broker.connect();
    expect(broker.capabilities.nativeDelay).toBe(true);
    const got: Array<{ d: Delivery; at: number }> = [];
    const sub = await broker.consume(['later'], async (d) => {
      got.push({ d, at: Date.now() });
      await d.ack();
    }, { prefetch: 5 });
    const message = testMessage('m1', { priority: 3, headers: { eta: '2030-01-01T00:00:00+00:00' } });
    const sentAt = Date.now();
    await broker.publishDelayed(message, 'later', 0.2);
    expect(await broker.queueLength('later')).toBe(0);
    await waitFor(() => got.length === 1, 3000, 'the delayed delivery');
    expect(got[0]!.at - sentAt).toBeGreaterThanOrEqual(195);
    expect(got[0]!.d.message.headers).toMatchObject({ id: 'm1', eta: '2030-01-01T00:00:00+00:00' });
    expect(got[0]!.d.info).toMatchObject({ exchange: '', routingKey: 'later', queue: 'later', priority: 3 });
    await expect(broker.publishDelayed(message, 'later', -1)).rejects.toThrow(/0 seconds or more/);
    await sub.cancel();
    await broker.close();
  });
});

describe('workerEtaTaskLimit', () => {
  let app: Celeriac;
  let worker: Worker;
  afterEach(async () => {
    await worker?.close();
    await app?.close();
  });

  function counting(a: Celeriac): Map<string, number> {
    const runs = new Map<string, number>();
    a.task('eta.count', async function (this: { request: { id: string } }) {
      runs.set(this.request.id, (runs.get(this.request.id) ?? 0) + 1);
    });
    return runs;
  }

  it('beyond the limit, a task due in over 1 s goes to the broker\'s delayed delivery; each runs once', async () => {
    app = memoryApp({ workerEtaTaskLimit: 2 });
    const runs = counting(app);
    worker = new Worker(app, { concurrency: 2, remoteControl: false });
    let received = 0;
    worker.on('task-received', () => received++);
    await worker.start();
    const sent = await Promise.all(Array.from({ length: 5 }, () => app.sendTask('eta.count', [], {}, { countdown: 1.5 })));
    await waitFor(() => received === 5, 3000, 'five receipts');
    expect(worker.scheduledRequests()).toHaveLength(2); // the other three wait in the broker, not here
    await waitFor(() => runs.size === 5, 5000, 'five runs');
    expect(sent.map((r) => runs.get(r.id))).toEqual([1, 1, 1, 1, 1]);
  });

  it('with a broker without delayed delivery, tasks beyond the limit keep their prefetch slot: fetching stops until due', async () => {
    app = memoryApp({ workerEtaTaskLimit: 2 });
    Object.defineProperty(app.broker, 'publishDelayed', { value: undefined });
    const runs = counting(app);
    worker = new Worker(app, { concurrency: 1, prefetchMultiplier: 2, remoteControl: false });
    await worker.start();
    const sent = await Promise.all(Array.from({ length: 8 }, () => app.sendTask('eta.count', [], {}, { countdown: 1 })));
    // 2 held within the limit (no slot) + 2 holding the whole prefetch window; the other 4 stay queued.
    await waitFor(() => worker.scheduledRequests().length === 4, 3000, 'four held ETA tasks');
    expect(await app.broker.queueLength('celery')).toBe(4);
    expect(runs.size).toBe(0);
    await waitFor(() => runs.size === 8, 5000, 'eight runs');
    expect(sent.map((r) => runs.get(r.id))).toEqual([1, 1, 1, 1, 1, 1, 1, 1]);
  });

  it('revoking a task that keeps its prefetch slot frees the slot for the next message', async () => {
    app = memoryApp({ workerEtaTaskLimit: 0 });
    Object.defineProperty(app.broker, 'publishDelayed', { value: undefined });
    const runs = counting(app);
    worker = new Worker(app, { concurrency: 1, prefetchMultiplier: 1, remoteControl: false });
    await worker.start();
    const far = await app.sendTask('eta.count', [], {}, { countdown: 60 });
    await waitFor(() => worker.scheduledRequests().length === 1, 3000, 'the held ETA task');
    const now = await app.sendTask('eta.count');
    expect(await app.broker.queueLength('celery')).toBe(1); // the window is full: not fetched
    await worker.revoke([far.id], false);
    await waitFor(() => runs.get(now.id) === 1, 3000, 'the next message to run');
    expect(runs.has(far.id)).toBe(false);
  });
});
