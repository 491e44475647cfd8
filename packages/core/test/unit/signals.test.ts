/**
 * app.signals on the memory broker: every signal fires with its payload, in Celery's order; listener
 * errors are logged and contained; beforeTaskPublish can change headers that reach the worker.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pino from 'pino';
import { type Celeriac, MemoryBroker, MemoryKeyValueStore, NotRegisteredError, Signals, type TaskContext, Worker } from '../../src';
import { memoryApp } from '../helpers/memory-app';
import { deferred, waitFor } from '../helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

/** A logger whose records land in `lines`. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString('utf8')) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

describe('app.signals', () => {
  let app: Celeriac;
  let worker: Worker | undefined;
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await app?.close();
  });

  async function startWorker(options: ConstructorParameters<typeof Worker>[1] = {}): Promise<Worker> {
    worker = new Worker(app, { concurrency: 1, hostname: 'w1@test', heartbeat: false, ...options });
    await worker.start();
    return worker;
  }

  it('fires publish and task signals with their payloads, in order', async () => {
    app = memoryApp();
    const add = app.task('math.add', async (x: number, y: number) => x + y);
    const seen: string[] = [];
    const payloads: Record<string, unknown> = {};
    for (const name of ['beforeTaskPublish', 'afterTaskPublish', 'taskPrerun', 'taskSuccess', 'taskPostrun'] as const) {
      app.signals.on(name, (p) => {
        seen.push(name);
        payloads[name] = p;
      });
    }
    await startWorker();
    const r = await add.delay(2, 3);
    await expect(r.get({ timeout: 5000 })).resolves.toBe(5);
    await waitFor(() => seen.includes('taskPostrun'), 5000, 'taskPostrun');
    expect(seen).toEqual(['beforeTaskPublish', 'afterTaskPublish', 'taskPrerun', 'taskSuccess', 'taskPostrun']);
    expect(payloads.beforeTaskPublish).toMatchObject({ name: 'math.add', body: [[2, 3], {}, { callbacks: null }], exchange: '', routingKey: 'celery', headers: { id: r.id, task: 'math.add' } });
    expect(payloads.afterTaskPublish).toMatchObject({ name: 'math.add', routingKey: 'celery', headers: { id: r.id } });
    expect(payloads.taskPrerun).toMatchObject({ taskId: r.id, task: add, args: [2, 3], kwargs: {}, request: { id: r.id, hostname: 'w1@test' } });
    expect(payloads.taskSuccess).toMatchObject({ taskId: r.id, task: add, result: 5 });
    expect(payloads.taskPostrun).toMatchObject({ taskId: r.id, task: add, args: [2, 3], retval: 5, state: 'SUCCESS' });
  });

  it('beforeTaskPublish can add headers that reach the worker', async () => {
    app = memoryApp();
    const seenHeader = deferred<unknown>();
    const t = app.task('t.headers', async function (this: TaskContext) {
      seenHeader.resolve(this.request.headers.tenant);
      return this.request.headers.tenant;
    });
    app.signals.on('beforeTaskPublish', ({ headers }) => {
      headers.tenant = 'acme';
    });
    await startWorker();
    const r = await t.delay();
    await expect(seenHeader.promise).resolves.toBe('acme');
    await expect(r.get({ timeout: 5000 })).resolves.toBe('acme');
  });

  it('fires taskRetry then taskPostrun with RETRY, and taskFailure with the error and traceback', async () => {
    app = memoryApp();
    const events: Array<[string, unknown]> = [];
    const flaky = app.task('t.flaky', async function (this: TaskContext) {
      if (this.request.retries < 1) this.retry({ countdown: 0, exc: new Error('again') });
      throw new TypeError('broken for good');
    });
    app.signals.on('taskRetry', (p) => events.push(['retry', { reason: (p.reason as Error).message, taskId: p.taskId, retries: p.request.retries, eta: p.eta instanceof Date }]));
    app.signals.on('taskFailure', (p) => events.push(['failure', { exception: (p.exception as Error).message, traceback: p.traceback?.includes('TypeError: broken for good'), args: p.args, taskId: p.taskId }]));
    app.signals.on('taskPostrun', (p) => events.push(['postrun', { state: p.state, retval: (p.retval as Error).message }]));
    await startWorker();
    const r = await flaky.delay();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'TypeError' });
    await waitFor(() => events.length === 4, 5000, 'four signals');
    expect(events).toEqual([
      ['retry', { reason: 'again', taskId: r.id, retries: 0, eta: true }],
      ['postrun', { state: 'RETRY', retval: 'again' }],
      ['failure', { exception: 'broken for good', traceback: true, args: [], taskId: r.id }],
      ['postrun', { state: 'FAILURE', retval: 'broken for good' }],
    ]);
  });

  it('fires taskRevoked for a revoked, an expired and a terminated task', async () => {
    app = memoryApp();
    const revoked: Array<{ taskId: string; terminated: boolean; expired: boolean; task: string | undefined; requestId: string }> = [];
    app.signals.on('taskRevoked', (p) => revoked.push({ taskId: p.taskId, terminated: p.terminated, expired: p.expired, task: p.task?.taskName, requestId: p.request.id }));
    const started = deferred<void>();
    const slow = app.task('t.slow', async function (this: TaskContext) {
      started.resolve();
      await new Promise((res) => setTimeout(res, 60_000).unref());
    });
    const quick = app.task('t.quick', async () => 1);
    await startWorker();
    const expired = await quick.applyAsync([], { expires: new Date(Date.now() - 1000) });
    await waitFor(() => revoked.length === 1, 5000, 'the expired task');
    const running = await slow.delay();
    await started.promise;
    await running.revoke({ terminate: true });
    await waitFor(() => revoked.length === 2, 5000, 'the terminated task');
    const id = randomUUID();
    await app.control.revoke(id);
    await waitFor(async () => (await app.control.inspect({ destination: ['w1@test'] }).revoked())?.['w1@test']?.includes(id) === true, 5000, 'the revoke to arrive');
    await quick.applyAsync([], { taskId: id });
    await waitFor(() => revoked.length === 3, 5000, 'the revoked task');
    expect(revoked).toEqual([
      { taskId: expired.id, terminated: false, expired: true, task: 't.quick', requestId: expired.id },
      { taskId: running.id, terminated: true, expired: false, task: 't.slow', requestId: running.id },
      { taskId: id, terminated: false, expired: false, task: 't.quick', requestId: id },
    ]);
  });

  it('fires taskUnknown for an unregistered task and taskRejected for an unreadable message', async () => {
    app = memoryApp();
    const unknown: unknown[] = [];
    const rejected: unknown[] = [];
    app.signals.on('taskUnknown', (p) => unknown.push({ name: p.name, id: p.id, exc: p.exc, header: p.message.headers.task }));
    app.signals.on('taskRejected', (p) => rejected.push({ exc: p.exc.message, contentType: p.message.contentType }));
    await startWorker();
    const r = await app.sendTask('no.such.task');
    await waitFor(() => unknown.length === 1, 5000, 'taskUnknown');
    expect(unknown[0]).toEqual({ name: 'no.such.task', id: r.id, exc: expect.any(NotRegisteredError), header: 'no.such.task' });
    await app.broker.publish(
      { headers: { id: randomUUID(), task: 'x' }, properties: {}, contentType: 'application/x-nope', contentEncoding: 'binary', body: Buffer.from('?') },
      { exchange: '', routingKey: 'celery' },
    );
    await waitFor(() => rejected.length === 1, 5000, 'taskRejected');
    expect(rejected[0]).toMatchObject({ contentType: 'application/x-nope', exc: expect.stringContaining('application/x-nope') });
  });

  it('fires workerInit, workerReady and workerShutdown with the worker', async () => {
    app = memoryApp();
    const seen: Array<[string, Worker]> = [];
    for (const name of ['workerInit', 'workerReady', 'workerShutdown'] as const) app.signals.on(name, ({ worker: w }) => seen.push([name, w]));
    const w = await startWorker();
    expect(seen).toEqual([
      ['workerInit', w],
      ['workerReady', w],
    ]);
    await w.close();
    expect(seen.map(([n]) => n)).toEqual(['workerInit', 'workerReady', 'workerShutdown']);
    expect(seen[2]![1]).toBe(w);
  });

  it('fires heartbeatSent for worker-online, each heartbeat and worker-offline', async () => {
    app = memoryApp();
    const types: string[] = [];
    app.signals.on('heartbeatSent', ({ type, worker: w }) => {
      expect(w.hostname).toBe('w1@test');
      types.push(type);
    });
    const w = await startWorker({ heartbeat: true, heartbeatInterval: 0.02 });
    await waitFor(() => types.filter((t) => t === 'worker-heartbeat').length >= 2, 5000, 'two heartbeats');
    await w.close();
    expect(types[0]).toBe('worker-online');
    expect(types.at(-1)).toBe('worker-offline');
  });

  it('fires task signals in eager mode too', async () => {
    app = memoryApp({ taskAlwaysEager: true });
    const seen: string[] = [];
    app.signals.on('taskPrerun', () => seen.push('prerun'));
    app.signals.on('taskPostrun', ({ state }) => seen.push(`postrun:${state}`));
    const t = app.task('t.eager', async () => 'ok');
    await expect((await t.delay()).get()).resolves.toBe('ok');
    expect(seen).toEqual(['prerun', 'postrun:SUCCESS']);
  });

  it('logs a listener that throws (or rejects) and goes on: the task and other listeners still run', async () => {
    const { logger, lines } = capturingLogger();
    app = memoryApp({ logger });
    const after: string[] = [];
    for (const name of ['beforeTaskPublish', 'taskPrerun', 'taskSuccess', 'taskPostrun'] as const) {
      app.signals.on(name, () => {
        throw new Error(`listener of ${name} broke`);
      });
      app.signals.on(name, () => void after.push(name));
    }
    app.signals.on('taskPrerun', async () => Promise.reject(new Error('async listener broke')));
    const t = app.task('t.ok', async () => 'fine');
    await startWorker();
    const r = await t.delay();
    await expect(r.get({ timeout: 5000 })).resolves.toBe('fine');
    await waitFor(() => after.length === 4 && lines.some((l) => String(l.msg).includes('async listener broke')), 5000, 'every listener');
    expect(after).toEqual(['beforeTaskPublish', 'taskPrerun', 'taskSuccess', 'taskPostrun']);
    const errors = lines.filter((l) => l.signal !== undefined).map((l) => l.msg);
    expect(errors).toEqual(
      expect.arrayContaining([
        'Signal handler of beforeTaskPublish raised: Error: listener of beforeTaskPublish broke',
        'Signal handler of taskPrerun raised: Error: listener of taskPrerun broke',
        'Signal handler of taskPrerun raised: Error: async listener broke',
        'Signal handler of taskSuccess raised: Error: listener of taskSuccess broke',
        'Signal handler of taskPostrun raised: Error: listener of taskPostrun broke',
      ]),
    );
  });
});

describe('Signals', () => {
  const silent = pino({ level: 'silent' });

  it('on/off/once and listenerCount', () => {
    const s = new Signals(silent);
    const calls: string[] = [];
    const a = (): void => void calls.push('a');
    const off = s.on('workerReady', a);
    s.once('workerReady', () => void calls.push('once'));
    expect(s.has('workerReady')).toBe(true);
    expect(s.listenerCount('workerReady')).toBe(2);
    const payload = { worker: {} as Worker };
    s.emit('workerReady', payload);
    s.emit('workerReady', payload);
    expect(calls).toEqual(['a', 'once', 'a']);
    off();
    expect(s.has('workerReady')).toBe(false);
    s.emit('workerReady', payload);
    expect(calls).toHaveLength(3);
  });

  it('refuses a listener that is not a function', () => {
    expect(() => new Signals(silent).on('taskPrerun', 'nope' as never)).toThrow('Signal "taskPrerun": the listener must be a function.');
  });
});
