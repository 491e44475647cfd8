/** workerDisablePrefetch on the memory broker: the window is the concurrency, and held tasks that become due go back to the queue, limited once. */
import { MemoryBroker, MemoryKeyValueStore, Worker } from '../../src';
import { memoryApp } from '../helpers/memory-app';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('workerDisablePrefetch', () => {
  it('makes the prefetch window the concurrency (the multiplier is ignored); the option beats the setting', () => {
    const app = memoryApp({ workerDisablePrefetch: true, workerPrefetchMultiplier: 8 });
    expect(new Worker(app, { concurrency: 3 }).prefetch).toBe(3);
    expect(new Worker(app, { concurrency: 3, disablePrefetch: false }).prefetch).toBe(24);
    expect(new Worker(memoryApp(), { concurrency: 2, disablePrefetch: true }).prefetch).toBe(2);
  });

  it('gives a rate-limited task back when due and runs it when it comes back, without limiting it again', async () => {
    const app = memoryApp({ workerDisablePrefetch: true });
    const starts: number[] = [];
    const t = app.task(
      'np.limited',
      async (i: number) => {
        starts.push(Date.now());
        return i;
      },
      { rateLimit: '5/s' },
    );
    const received: string[] = [];
    const worker = new Worker(app, { concurrency: 1, remoteControl: false });
    worker.on('task-received', ({ id }) => received.push(id));
    await worker.start();
    try {
      const results = await Promise.all([0, 1, 2, 3].map((i) => t.delay(i)));
      await expect(Promise.all(results.map((r) => r.get({ timeout: 5000 })))).resolves.toEqual([0, 1, 2, 3]);
      // 5/s: slots 200 ms apart; being given back and received again adds no second wait
      expect(starts[3]! - starts[0]!).toBeGreaterThanOrEqual(590);
      expect(starts[3]! - starts[0]!).toBeLessThan(1000);
      // the last three were held, given back when due and received again, once each
      const times = results.map((r) => received.filter((id) => id === r.id).length);
      expect(times).toEqual([1, 2, 2, 2]);
      expect(worker.scheduledRequests()).toEqual([]);
      expect(worker.reservedRequests()).toEqual([]);
    } finally {
      await worker.close();
      await app.close();
    }
  });
});
