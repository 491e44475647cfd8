/** Subscribing at send time (Celery's on_task_call): results published before get() are not missed. */
import { KeyValueResultBackend } from '../../src/backends/key-value-backend';
import { MemoryKeyValueStore } from '../../src/backends/memory/memory-key-value-store';
import { dateDoneNow } from '../../src/protocol/result-meta';

function backendWithCounters() {
  const store = new MemoryKeyValueStore(`prep-${Math.random()}`);
  const counts = { get: 0, subscribe: 0, unsubscribe: 0 };
  const get = store.get.bind(store);
  const subscribe = store.subscribe.bind(store);
  store.get = async (key) => {
    counts.get++;
    return get(key);
  };
  store.subscribe = async (channel, listener) => {
    counts.subscribe++;
    const unsub = await subscribe(channel, listener);
    return async () => {
      counts.unsubscribe++;
      await unsub();
    };
  };
  return { backend: new KeyValueResultBackend(store), counts };
}

const success = (taskId: string, result: unknown) => ({ taskId, status: 'SUCCESS', result, traceback: null, children: [], dateDone: dateDoneNow() });

describe('prepareWait', () => {
  it('buffers a result published before get() and reuses the subscription', async () => {
    const { backend, counts } = backendWithCounters();
    backend.prepareWait('t1');
    await new Promise((r) => setImmediate(r));
    await backend.storeResult(success('t1', 42));
    await expect(backend.waitFor('t1', { timeoutMs: 1000 })).resolves.toMatchObject({ status: 'SUCCESS', result: 42 });
    expect(counts.subscribe).toBe(1);
    await new Promise((r) => setImmediate(r));
    expect(counts.unsubscribe).toBe(1);
  });

  it('waits normally when the result comes after get()', async () => {
    const { backend, counts } = backendWithCounters();
    backend.prepareWait('t2');
    const waiting = backend.waitFor('t2', { timeoutMs: 1000 });
    await backend.storeResult(success('t2', 'later'));
    await expect(waiting).resolves.toMatchObject({ result: 'later' });
    expect(counts.subscribe).toBe(1);
  });

  it('drops an unused pre-subscription after its time to live', async () => {
    jest.useFakeTimers();
    try {
      const { backend, counts } = backendWithCounters();
      backend.prepareWait('t3');
      await Promise.resolve();
      jest.advanceTimersByTime(60_001);
      await jest.runAllTimersAsync();
      expect(counts.unsubscribe).toBe(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
