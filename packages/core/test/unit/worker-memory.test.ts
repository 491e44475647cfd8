import { type Celeriac, MemoryBroker, MemoryKeyValueStore, RemoteTaskError, ResultTimeoutError, type TaskContext, TaskRevokedError, Worker, NotRegisteredError } from '../../src';
import { memoryApp } from '../helpers/memory-app';

const makeApp = memoryApp;

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('worker on the memory broker', () => {
  let app: Celeriac;
  let worker: Worker;
  afterEach(async () => {
    await worker?.close();
    await app?.close();
  });

  it('runs a task and returns its typed result', async () => {
    app = makeApp();
    const add = app.task('math.add', async (x: number, y: number) => x + y);
    worker = new Worker(app, { concurrency: 2 });
    await worker.start();
    const result = await add.delay(2, 3);
    await expect(result.get({ timeout: 5000 })).resolves.toBe(5);
    await expect(result.state()).resolves.toBe('SUCCESS');
  });

  it('binds kwargs by parameter name', async () => {
    app = makeApp();
    const greet = app.task('greet', async (greeting: string, name: string = 'world') => `${greeting}, ${name}`);
    worker = new Worker(app);
    await worker.start();
    const r = await greet.applyAsync([], { kwargs: { greeting: 'hi', name: 'ana' } });
    await expect(r.get({ timeout: 5000 })).resolves.toBe('hi, ana');
    const bad = await greet.applyAsync(['x'], { kwargs: { nope: 1 } });
    await expect(bad.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'TypeError', message: expect.stringContaining("unexpected keyword argument 'nope'") });
  });

  it('stores failures with Celery exception fields', async () => {
    app = makeApp();
    const boom = app.task('boom', async () => {
      throw new RangeError('bad range');
    });
    worker = new Worker(app);
    await worker.start();
    const r = await boom.delay();
    const err = await r.get({ timeout: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteTaskError);
    expect(err).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['bad range'] });
    expect(await r.traceback()).toContain('RangeError: bad range');
    expect(await r.failed()).toBe(true);
  });

  it('retries with the same id and retries+1 until success', async () => {
    app = makeApp();
    const seen: number[] = [];
    const flaky = app.task('flaky', async function (this: TaskContext) {
      seen.push(this.request.retries);
      if (this.request.retries < 2) this.retry({ countdown: 0.01, exc: new Error('again') });
      return this.request.id;
    });
    worker = new Worker(app);
    await worker.start();
    const r = await flaky.delay();
    await expect(r.get({ timeout: 5000 })).resolves.toBe(r.id);
    expect(seen).toEqual([0, 1, 2]);
  });

  it('fails with the original error when max retries are exceeded', async () => {
    app = makeApp();
    const always = app.task(
      'always',
      async function (this: TaskContext) {
        this.retry({ countdown: 0, exc: new TypeError('still broken') });
      },
      { maxRetries: 1 },
    );
    worker = new Worker(app);
    await worker.start();
    const r = await always.delay();
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'TypeError', excMessage: ['still broken'] });
  });

  it('autoretries matching errors with backoff', async () => {
    app = makeApp();
    class Transient extends Error {}
    let calls = 0;
    const t = app.task(
      'auto',
      async () => {
        calls++;
        if (calls < 3) throw new Transient('flaky');
        return calls;
      },
      { autoretryFor: [Transient], retryBackoff: 0.01, retryJitter: false, maxRetries: 5 },
    );
    worker = new Worker(app);
    await worker.start();
    await expect((await t.delay()).get({ timeout: 5000 })).resolves.toBe(3);
  });

  it('holds countdown tasks until due', async () => {
    app = makeApp();
    const when = app.task('when', async () => Date.now());
    worker = new Worker(app);
    await worker.start();
    const sent = Date.now();
    const r = await when.applyAsync([], { countdown: 0.3 });
    const ranAt = await r.get({ timeout: 5000 });
    expect(ranAt - sent).toBeGreaterThanOrEqual(290);
  });

  it('revokes expired tasks without running them', async () => {
    app = makeApp();
    const ran = jest.fn();
    const t = app.task('expiring', async () => ran());
    const r = await t.applyAsync([], { expires: new Date(Date.now() - 1000) });
    worker = new Worker(app);
    await worker.start();
    await expect(r.get({ timeout: 5000 })).rejects.toBeInstanceOf(TaskRevokedError);
    expect(ran).not.toHaveBeenCalled();
  });

  it('rejects unknown tasks, stores NotRegistered, and keeps running', async () => {
    app = makeApp();
    const ok = app.task('known', async () => 'fine');
    worker = new Worker(app);
    const rejected = new Promise((resolve) => worker.once('task-rejected', resolve));
    await worker.start();
    const r = await app.sendTask('nobody.knows', [1]);
    await expect(r.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'NotRegistered', excMessage: ['nobody.knows'] });
    await expect(rejected).resolves.toMatchObject({ reason: 'not registered' });
    await expect((await ok.delay()).get({ timeout: 5000 })).resolves.toBe('fine');
    expect(new NotRegisteredError('x').message).toContain('not registered');
  });

  it('rejects a malformed message and keeps running', async () => {
    app = makeApp();
    const ok = app.task('still.ok', async () => 1);
    worker = new Worker(app);
    const rejected = new Promise<{ reason: string }>((resolve) => worker.once('task-rejected', resolve));
    await worker.start();
    await app.broker.publish(
      { headers: { task: 'still.ok', id: 'bad-1' }, properties: {}, contentType: 'application/json', contentEncoding: 'utf-8', body: Buffer.from('{not json') },
      { exchange: '', routingKey: 'celery' },
    );
    await expect(rejected).resolves.toMatchObject({ reason: expect.stringContaining('Invalid JSON') });
    await expect(app.asyncResult('bad-1').state()).resolves.toBe('FAILURE');
    await expect((await ok.delay()).get({ timeout: 5000 })).resolves.toBe(1);
  });

  it('refuses content types outside acceptContent', async () => {
    app = makeApp();
    const t = app.task('packed', async (x: number) => x);
    worker = new Worker(app);
    const rejected = new Promise<{ reason: string }>((resolve) => worker.once('task-rejected', resolve));
    await worker.start();
    await t.applyAsync([1], { serializer: 'msgpack' });
    await expect(rejected).resolves.toMatchObject({ reason: expect.stringContaining('application/x-msgpack') });
  });

  it('runs msgpack and compressed messages when accepted', async () => {
    app = makeApp({ acceptContent: ['json', 'msgpack'] });
    const echo = app.task('echo', async (x: unknown) => x);
    worker = new Worker(app);
    await worker.start();
    const big = { text: 'é'.repeat(2000), n: 42 };
    await expect((await echo.applyAsync([big], { serializer: 'msgpack' })).get({ timeout: 5000 })).resolves.toEqual(big);
    await expect((await echo.applyAsync([big], { compression: 'gzip' })).get({ timeout: 5000 })).resolves.toEqual(big);
    await expect((await echo.applyAsync([big], { compression: 'brotli' })).get({ timeout: 5000 })).resolves.toEqual(big);
  });

  it('limits concurrency to -c', async () => {
    app = makeApp();
    let running = 0;
    let peak = 0;
    const slow = app.task('slow', async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 20));
      running--;
    });
    worker = new Worker(app, { concurrency: 3 });
    await worker.start();
    const results = await Promise.all(Array.from({ length: 12 }, () => slow.delay()));
    await Promise.all(results.map((r) => r.get({ timeout: 5000 })));
    expect(peak).toBe(3);
  });

  it('stores STARTED with trackStarted and custom states with updateState', async () => {
    app = makeApp();
    const states: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = app.task(
      'progress',
      async function (this: TaskContext) {
        await this.updateState('PROGRESS', { done: 1 });
        await gate;
        return 'ok';
      },
      { trackStarted: true },
    );
    worker = new Worker(app);
    await worker.start();
    const r = await t.delay();
    const got = r.get({ timeout: 5000, onMessage: (m) => states.push(m.status) });
    setTimeout(release, 50);
    await expect(got).resolves.toBe('ok');
    expect(states).toContain('PROGRESS');
    expect(states.at(-1)).toBe('SUCCESS');
  });

  it('get() times out with ResultTimeoutError when nobody consumes', async () => {
    app = makeApp();
    const t = app.task('lonely', async () => 1);
    const r = await t.delay();
    await expect(r.get({ timeout: 50 })).rejects.toBeInstanceOf(ResultTimeoutError);
    await expect(r.state()).resolves.toBe('PENDING');
    await expect(r.isKnown()).resolves.toBe(false);
  });

  it('taskTrackSent tells a queued id from an unknown one', async () => {
    app = makeApp({ taskTrackSent: true });
    const t = app.task('tracked', async () => 1);
    const r = await t.delay();
    await expect(r.isKnown()).resolves.toBe(true);
    await expect(app.asyncResult('never-sent').isKnown()).resolves.toBe(false);
  });

  it('ignoreResult stores nothing', async () => {
    app = makeApp();
    const done = jest.fn();
    const t = app.task('quiet', async () => done(), { ignoreResult: true });
    worker = new Worker(app);
    const finished = new Promise((r) => worker.once('task-succeeded', r));
    await worker.start();
    const r = await t.delay();
    await finished;
    await expect(r.isKnown()).resolves.toBe(false);
  });

  it('warm shutdown gives back waiting messages and finishes running ones', async () => {
    app = makeApp();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const t = app.task('gated', async () => {
      await gate;
      return 'done';
    });
    worker = new Worker(app, { concurrency: 1 });
    await worker.start();
    const started = new Promise((r) => worker.once('task-started', r));
    const first = await t.delay();
    const second = await t.delay();
    const later = await t.applyAsync([], { countdown: 60 });
    await started;
    await new Promise((r) => setImmediate(r));
    const closing = worker.close();
    release();
    await closing;
    await expect(first.get({ timeout: 1000 })).resolves.toBe('done');
    expect(await app.broker.queueLength('celery')).toBe(2);
    expect(await second.state()).toBe('PENDING');
    expect(await later.state()).toBe('PENDING');
  });
});
