/**
 * The per-task path stays lean: a free slot is taken without a promise, and running a synchronous
 * task builds none of the waiting machinery (timers, interrupt wrapper, awaited absent handlers).
 * Every promise costs more while AsyncLocalStorage's promise hooks are on (taskPropagateContext,
 * the default), so the count is asserted, not just the outcome.
 */
import { createHook } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { currentTask, MemoryBroker, MemoryKeyValueStore, SoftTimeLimitExceededError, Worker } from '../../src';
import { createTaskMessage } from '../../src/protocol/message-v2';
import { Executor } from '../../src/worker/executor';
import { Slots } from '../../src/worker/slots';
import { memoryApp } from '../helpers/memory-app';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

/** Promises created while `fn` runs and the microtasks it queued settle. */
async function promisesCreatedBy(fn: () => Promise<unknown>): Promise<number> {
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') count++;
    },
  });
  hook.enable();
  try {
    await fn();
  } finally {
    hook.disable();
  }
  return count;
}

describe('Slots.tryAcquire', () => {
  it('takes a free slot at once and refuses when all are used', () => {
    const slots = new Slots(2);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(true);
    expect(slots.tryAcquire()).toBe(false);
    expect(slots.running).toBe(2);
    slots.release();
    expect(slots.tryAcquire()).toBe(true);
  });

  it('a released slot goes to a caller already waiting, not to tryAcquire', async () => {
    const slots = new Slots(1);
    expect(slots.tryAcquire()).toBe(true);
    const waiter = slots.acquire();
    slots.release();
    expect(slots.tryAcquire()).toBe(false);
    await expect(waiter).resolves.toBe(true);
    expect(slots.running).toBe(1);
  });
});

describe('Executor on a synchronous task', () => {
  const app = memoryApp();
  const executor = new Executor(app, 'test@host');
  let seen: string | undefined;
  const add = app.task('hot.add', function add(a: number, b: number) {
    seen = currentTask()?.request.id;
    return a + b;
  });
  const slow = app.task('hot.slow', async () => new Promise((r) => setTimeout(r, 300)), { softTimeLimit: 0.05 });
  afterAll(() => app.close());

  it('runs in the task context with at most one promise more than a bare async function', async () => {
    const message = createTaskMessage({ id: randomUUID(), task: add.taskName, args: [2, 3], ignoreResult: true });
    await executor.run(add, message, null, false); // first call compiles and loads lazily
    const id = randomUUID();
    let outcome: unknown;
    const created = await promisesCreatedBy(async () => {
      outcome = await executor.run(add, { ...message, id }, null, false);
    });
    const bare = async (): Promise<number> => 5;
    const baseline = await promisesCreatedBy(async () => {
      await bare();
    });
    expect(outcome).toMatchObject({ state: 'SUCCESS', retval: 5 });
    expect(seen).toBe(id);
    // executor.run's own promise (and one reaction V8 creates without a JS frame): no awaited absent
    // handler, no timer race, no interrupt wrapper. The wrapped version made 10 more.
    expect(created).toBeLessThanOrEqual(baseline + 1);
  });

  it('an asynchronous task still gets its soft time limit and is listed as running meanwhile', async () => {
    const message = createTaskMessage({ id: randomUUID(), task: slow.taskName, ignoreResult: true });
    const running = executor.run(slow, message, null, false);
    expect(executor.running.has(message.id)).toBe(true);
    let aborted: unknown;
    const ctx = executor.running.get(message.id)!.ctx;
    ctx.signal.addEventListener('abort', () => (aborted = ctx.signal.reason));
    await running;
    expect(aborted).toBeInstanceOf(SoftTimeLimitExceededError);
    expect(executor.running.has(message.id)).toBe(false);
  });
});

describe('Worker on the memory broker', () => {
  it('runs a queued no-op task with at most 8 promises (intake, slot, ack, run, settle)', async () => {
    const app = memoryApp({ taskIgnoreResult: true });
    const noop = app.task('hot.noop', (i: number) => i);
    const n = 2000;
    await noop.applyMany(Array.from({ length: n }, (_, i): [number] => [i]));
    const worker = new Worker(app, { concurrency: 10, remoteControl: false });
    let done = 0;
    const all = new Promise<void>((resolve) => worker.on('task-succeeded', () => ++done === n && resolve()));
    try {
      const created = await promisesCreatedBy(async () => {
        await worker.start();
        await all;
      });
      // 7.5 now on this broker (start-up included); before the hot path was trimmed it was 20
      expect(created / n).toBeLessThanOrEqual(8);
    } finally {
      await worker.close();
      await app.close();
    }
  });
});
