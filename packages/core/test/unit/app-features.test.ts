import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  Celeriac,
  ConfigError,
  createLogger,
  EagerResult,
  MemoryBroker,
  MemoryKeyValueStore,
  RemoteTaskError,
  sharedTask,
  SoftTimeLimitExceededError,
  type TaskContext,
  Worker,
} from '../../src';

const silent = createLogger('silent');
function makeApp(extra: Record<string, unknown> = {}) {
  const name = randomUUID();
  return new Celeriac({ brokerUrl: `memory://${name}`, resultBackend: `memory://${name}`, logger: silent, ...extra });
}

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('eager mode and apply()', () => {
  it('apply() runs in-process and returns an EagerResult', async () => {
    const app = makeApp();
    const add = app.task('e.add', async (x: number, y: number) => x + y);
    const r = await add.apply([2, 3]);
    expect(r).toBeInstanceOf(EagerResult);
    await expect(r.get()).resolves.toBe(5);
    await expect(r.state()).resolves.toBe('SUCCESS');
    expect(await app.broker.queueLength('celery')).toBe(0);
  });

  it('taskAlwaysEager makes delay() run locally; failures are stored on the EagerResult', async () => {
    const app = makeApp({ taskAlwaysEager: true });
    const fail = app.task('e.fail', async () => {
      throw new TypeError('nope');
    });
    const r = await fail.delay();
    await expect(r.state()).resolves.toBe('FAILURE');
    await expect(r.get()).rejects.toMatchObject({ excType: 'TypeError', excMessage: ['nope'] });
    await expect(r.get({ propagate: false })).resolves.toBeInstanceOf(RemoteTaskError);
  });

  it('taskEagerPropagates throws the task error from delay()', async () => {
    const app = makeApp({ taskAlwaysEager: true, taskEagerPropagates: true });
    const fail = app.task('e.fail2', async () => {
      throw new TypeError('boom');
    });
    await expect(fail.delay()).rejects.toThrow('boom');
  });

  it('eager retries run again at once with retries + 1', async () => {
    const app = makeApp({ taskAlwaysEager: true });
    const seen: number[] = [];
    const t = app.task('e.retry', async function (this: TaskContext) {
      seen.push(this.request.retries);
      if (this.request.retries < 2) this.retry({ countdown: 100 });
      return 'ok';
    });
    await expect((await t.delay()).get()).resolves.toBe('ok');
    expect(seen).toEqual([0, 1, 2]);
  });

  it('a task called directly runs its function', async () => {
    const app = makeApp();
    const t = app.task('e.direct', async function (this: TaskContext, n: number) {
      return `${this.request.name}:${n}`;
    });
    await expect(t(4)).resolves.toBe('e.direct:4');
  });
});

describe('shared tasks and autodiscover', () => {
  it('sharedTask registers on existing and new apps and publishes through the current app', async () => {
    const before = makeApp();
    const shout = sharedTask('shared.shout', async (s: string) => s.toUpperCase());
    const after = makeApp();
    expect(before.tasks.has('shared.shout')).toBe(true);
    expect(after.tasks.has('shared.shout')).toBe(true);
    const worker = new Worker(after);
    await worker.start();
    await expect((await shout.delay('hey')).get({ timeout: 5000 })).resolves.toBe('HEY');
    await worker.close();
    await after.close();
    await before.close();
  });

  it('autodiscover loads modules by glob, and says so when nothing matches', async () => {
    const app = makeApp();
    const loaded = await app.autodiscover('*.tasks.js', { cwd: resolve(__dirname, '../fixtures/autodiscover') });
    expect(loaded.map((f) => f.split('/').pop())).toEqual(['math.tasks.js']);
    expect(app.tasks.has('fixtures.double')).toBe(true);
    await expect(app.autodiscover('nothing/*.js', { cwd: __dirname })).rejects.toBeInstanceOf(ConfigError);
  });
});

describe('handlers, expected errors and time limits on the worker', () => {
  let app: Celeriac;
  let worker: Worker;
  afterEach(async () => {
    await worker?.close();
    await app?.close();
  });

  it('calls beforeStart, onSuccess and afterReturn in order', async () => {
    app = makeApp();
    const calls: string[] = [];
    const t = app.task('h.ok', async () => 7, {
      beforeStart: () => void calls.push('beforeStart'),
      onSuccess: (v) => void calls.push(`onSuccess:${v}`),
      afterReturn: (state, v) => void calls.push(`afterReturn:${state}:${String(v)}`),
    });
    worker = new Worker(app);
    await worker.start();
    await (await t.delay()).get({ timeout: 5000 });
    await worker.whenIdle();
    expect(calls).toEqual(['beforeStart', 'onSuccess:7', 'afterReturn:SUCCESS:7']);
  });

  it('calls onRetry then onFailure when retries run out', async () => {
    app = makeApp();
    const calls: string[] = [];
    const t = app.task(
      'h.fail',
      async () => {
        throw new Error('down');
      },
      { autoretryFor: [Error], maxRetries: 1, retryBackoff: false, defaultRetryDelay: 0, onRetry: () => void calls.push('onRetry'), onFailure: (e) => void calls.push(`onFailure:${(e as Error).message}`) },
    );
    worker = new Worker(app);
    await worker.start();
    await expect((await t.delay()).get({ timeout: 5000 })).rejects.toMatchObject({ excMessage: ['down'] });
    await worker.whenIdle(); // handlers run after the result is stored
    expect(calls).toEqual(['onRetry', 'onFailure:down']);
  });

  it('dontAutoretryFor wins over autoretryFor', async () => {
    app = makeApp();
    class Fatal extends Error {}
    let runs = 0;
    const t = app.task(
      'h.fatal',
      async () => {
        runs++;
        throw new Fatal('fatal');
      },
      { autoretryFor: [Error], dontAutoretryFor: [Fatal], defaultRetryDelay: 0 },
    );
    worker = new Worker(app);
    await worker.start();
    await expect((await t.delay()).get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'Fatal' });
    expect(runs).toBe(1);
  });

  it('expected errors (throws) are logged at info, unexpected at error', async () => {
    const lines: Array<{ level: number; msg: string }> = [];
    const stream = { write: (s: string) => void lines.push(JSON.parse(s) as { level: number; msg: string }) };
    const pino = (await import('pino')).default;
    const name = randomUUID();
    app = new Celeriac({ brokerUrl: `memory://${name}`, resultBackend: `memory://${name}`, logger: pino({ level: 'info' }, stream) });
    class Declined extends Error {}
    const t = app.task(
      'h.declined',
      async (kind: string) => {
        throw kind === 'expected' ? new Declined('card declined') : new Error('bug');
      },
      { throws: [Declined] },
    );
    worker = new Worker(app);
    await worker.start();
    await (await t.delay('expected')).get({ timeout: 5000, propagate: false });
    await (await t.delay('other')).get({ timeout: 5000, propagate: false });
    await worker.whenIdle(); // the log line follows the stored result
    const declined = lines.find((l) => l.msg.includes('card declined'));
    const bug = lines.find((l) => l.msg.includes('bug'));
    expect(declined?.level).toBe(30);
    expect(bug?.level).toBe(50);
  });

  it('soft time limit aborts the task signal; hard time limit fails it', async () => {
    app = makeApp();
    const soft = app.task(
      'h.soft',
      async function (this: TaskContext) {
        await new Promise((resolve) => this.signal.addEventListener('abort', resolve));
        return this.signal.reason instanceof SoftTimeLimitExceededError ? 'cleaned up' : 'other';
      },
      { softTimeLimit: 0.05 },
    );
    const hard = app.task('h.hard', async () => new Promise(() => undefined), { timeLimit: 0.05 });
    worker = new Worker(app);
    await worker.start();
    await expect((await soft.delay()).get({ timeout: 5000 })).resolves.toBe('cleaned up');
    await expect((await hard.delay()).get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'TimeLimitExceeded' });
    await expect((await hard.applyAsync([], { timeLimit: 0.02 })).get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'TimeLimitExceeded' });
  });

  it('routes tasks to queues by taskRoutes and per call, and the worker consumes only its -Q', async () => {
    app = makeApp({ taskRoutes: { 'r.*': { queue: 'routed' } } });
    const a = app.task('r.one', async () => 'routed');
    const b = app.task('other.two', async () => 'default');
    worker = new Worker(app, { queues: ['routed'] });
    await worker.start();
    await expect((await a.delay()).get({ timeout: 5000 })).resolves.toBe('routed');
    const notConsumed = await b.delay();
    await expect(notConsumed.get({ timeout: 100 })).rejects.toThrow(/not ready/);
    expect(await app.broker.queueLength('celery')).toBe(1);
    await expect((await b.applyAsync([], { queue: 'routed' })).get({ timeout: 5000 })).resolves.toBe('default');
  });

  it('publishes to the route exchange when the route names one, and the bound queue receives it', async () => {
    app = makeApp({ taskRoutes: { 'media.*': { queue: 'video', exchange: 'media', routingKey: 'media.video' } } });
    const encode = app.task('media.encode', async function (this: TaskContext) {
      return this.request.deliveryInfo;
    });
    worker = new Worker(app, { queues: ['video'] });
    await worker.start();
    await expect((await encode.delay()).get({ timeout: 5000 })).resolves.toMatchObject({ exchange: 'media', routingKey: 'media.video', queue: 'video' });
  });

  it('priority: the call wins, then the task, then the route', async () => {
    app = makeApp({ taskRoutes: { 'p.*': { queue: 'celery', priority: 5 } } });
    const own = app.task('p.own', async function (this: TaskContext) {
      return this.request.deliveryInfo?.priority;
    }, { priority: 2 });
    const routed = app.task('p.routed', async function (this: TaskContext) {
      return this.request.deliveryInfo?.priority;
    });
    worker = new Worker(app);
    await worker.start();
    await expect((await own.delay()).get({ timeout: 5000 })).resolves.toBe(2);
    await expect((await routed.delay()).get({ timeout: 5000 })).resolves.toBe(5);
    await expect((await own.applyAsync([], { priority: 9 })).get({ timeout: 5000 })).resolves.toBe(9);
  });

  it.each([
    [true, 'carries the parent and root ids of the sending task'],
    [false, 'sends as from a plain client when taskPropagateContext is off'],
  ])('a task sent from inside a task (taskPropagateContext %s) %s', async (propagate) => {
    app = makeApp({ taskPropagateContext: propagate });
    const inner = app.task('ctx.inner', async function (this: TaskContext) {
      return { parentId: this.request.parentId, rootId: this.request.rootId, id: this.request.id };
    });
    const outer = app.task('ctx.outer', async () => (await inner.delay()).id);
    worker = new Worker(app, { concurrency: 2 });
    await worker.start();
    const outerResult = await outer.delay();
    const innerId = await outerResult.get({ timeout: 5000 });
    const seen = await app.asyncResult<{ parentId: string | null; rootId: string; id: string }>(innerId).get({ timeout: 5000 });
    if (propagate) expect(seen).toEqual({ parentId: outerResult.id, rootId: outerResult.id, id: innerId });
    else expect(seen).toEqual({ parentId: null, rootId: innerId, id: innerId });
  });

  it('stores result_extended fields', async () => {
    app = makeApp({ resultExtended: true });
    const t = app.task('x.ext', async (n: number) => n);
    worker = new Worker(app, { hostname: 'w1@host' });
    await worker.start();
    const r = await t.applyAsync([1], { kwargs: {} });
    await r.get({ timeout: 5000 });
    await expect(r.meta()).resolves.toMatchObject({ name: 'x.ext', args: [1], kwargs: {}, worker: 'w1@host', retries: 0, queue: 'celery' });
  });

  it('applyMany sends a batch with one result per call', async () => {
    app = makeApp();
    const sq = app.task('b.sq', async (n: number) => n * n);
    worker = new Worker(app, { concurrency: 4 });
    await worker.start();
    const results = await sq.applyMany([[1], [2], [3], [4]]);
    await expect(Promise.all(results.map((r) => r.get({ timeout: 5000 })))).resolves.toEqual([1, 4, 9, 16]);
  });

  it('rejects bad call options with ConfigError', async () => {
    app = makeApp();
    const t = app.task('bad.opts', async () => 1);
    await expect(t.applyAsync([], { countdown: -1 })).rejects.toBeInstanceOf(ConfigError);
    await expect(t.applyAsync([], { priority: 1.5 })).rejects.toBeInstanceOf(ConfigError);
    expect(() => makeApp({ taskSerializer: 'pickle' })).toThrow(ConfigError);
    expect(() => makeApp({ brokerUrl: 'kafka://x' }).broker).toThrow(/Unsupported broker URL/);
  });
});

describe('RemoteTaskError', () => {
  it('describes exception arguments that hold big integers from Python', () => {
    const err = new RemoteTaskError('ValueError', ['too big', 9007199254740993n, { n: 2n ** 70n }], 'builtins', null);
    expect(err.message).toBe('ValueError: too big, 9007199254740993, {"n":"1180591620717411303424"}');
  });
});
