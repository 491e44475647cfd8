/** taskAnnotations: task options from settings by exact name, glob, '*' or function, and their effect on the worker. */
import { ConfigError, MemoryBroker, MemoryKeyValueStore, Worker, loadConfig, sharedTask, type Celeriac } from '../../src';
import { prepareAnnotations, resolveAnnotations } from '../../src/task/annotations';
import { memoryApp } from '../helpers/memory-app';
import { waitFor } from '../helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

const resolve = (value: unknown, name: string): Record<string, unknown> => resolveAnnotations(prepareAnnotations(value), name);

describe('resolving annotations', () => {
  it('in one map, the exact name beats a glob, which beats "*", option by option', () => {
    const map = {
      '*': { rateLimit: '1/s', acksLate: true, maxRetries: 9 },
      'billing.*': { rateLimit: '5/s', acksLate: false },
      'billing.charge': { rateLimit: '10/s' },
    };
    expect(resolve(map, 'billing.charge')).toEqual({ rateLimit: '10/s', acksLate: false, maxRetries: 9 });
    expect(resolve(map, 'billing.refund')).toEqual({ rateLimit: '5/s', acksLate: false, maxRetries: 9 });
    expect(resolve(map, 'mail.send')).toEqual({ rateLimit: '1/s', acksLate: true, maxRetries: 9 });
    expect(resolve({ 'billing.?x': { trackStarted: true } }, 'billing.ax')).toEqual({ trackStarted: true });
    expect(resolve({ 'billing.?x': { trackStarted: true } }, 'billing.abx')).toEqual({});
  });

  it('in a list, the first entry that sets an option wins; functions and annotate() objects take part', () => {
    const list = [
      (name: string) => (name === 'a.one' ? { timeLimit: 5 } : null),
      { annotate: (name: string) => (name.startsWith('a.') ? { timeLimit: 50, ignoreResult: true } : undefined) },
      { '*': { timeLimit: 500, ignoreResult: false, softTimeLimit: 1 } },
    ];
    expect(resolve(list, 'a.one')).toEqual({ timeLimit: 5, ignoreResult: true, softTimeLimit: 1 });
    expect(resolve(list, 'a.two')).toEqual({ timeLimit: 50, ignoreResult: true, softTimeLimit: 1 });
    expect(resolve(list, 'b.one')).toEqual({ timeLimit: 500, ignoreResult: false, softTimeLimit: 1 });
  });

  it('names an unknown option and the nearest valid one, and a bad value, at app creation', () => {
    const make = (taskAnnotations: unknown): Celeriac => memoryApp({ taskAnnotations: taskAnnotations as never });
    expect(() => make({ 'tasks.add': { rateLimt: '1/s' } })).toThrow(ConfigError);
    expect(() => make({ 'tasks.add': { rateLimt: '1/s' } })).toThrow(/taskAnnotations\["tasks.add"\]: "rateLimt" is not an annotatable task option. Did you mean "rateLimit"\?/);
    expect(() => make([{ '*': { queue: 'x' } }])).toThrow(/taskAnnotations\[0\]\["\*"\]: "queue" is not an annotatable/);
    expect(() => make({ '*': { acksLate: 'yes' } })).toThrow(/taskAnnotations\["\*"\].acksLate must be true or false, got "yes"/);
    expect(() => make({ '*': { rateLimit: '3/week' } })).toThrow(/rateLimit must be a rate like '10\/s'/);
    expect(() => make({ '*': { maxRetries: -1 } })).toThrow(/maxRetries must be an integer >= 0, or null/);
    expect(() => make(['nope'])).toThrow(/taskAnnotations\[0\] must be a map/);
    // a function's answer is checked when a task registers (the built-in celery.* tasks at app creation)
    const app = make((name: string) => (name === 't.x' ? { acks_late: true } : null));
    expect(() => app.task('t.x', async () => 1)).toThrow(/taskAnnotations\("t.x"\): "acks_late" is not an annotatable task option. Did you mean "acksLate"\?/);
    expect(() => make(() => ({ acks_late: true }))).toThrow(/taskAnnotations\("celery\.\w+"\): "acks_late"/);
  });

  it('reads the map form from CELERIAC_TASK_ANNOTATIONS (JSON)', () => {
    const conf = loadConfig({ env: { CELERIAC_TASK_ANNOTATIONS: '{"t.*": {"rateLimit": "5/s", "acksLate": true}}' } });
    const app = memoryApp(conf);
    const t = app.task('t.env', async () => 1);
    expect(app.tasks.get('t.env')!.options).toMatchObject({ rateLimit: '5/s', acksLate: true });
    expect(t.options.rateLimit).toBeUndefined();
  });
});

describe('applying annotations to tasks', () => {
  it('over the options a task was defined with, for tasks registered before and after, without changing the task object', () => {
    const early = sharedTask('ann.shared', async () => 1, { rateLimit: '2/s', maxRetries: 1 });
    const app = memoryApp({ taskAnnotations: { 'ann.*': { rateLimit: '20/s' } } });
    const other = memoryApp();
    const late = app.task('ann.late', async () => 2, { acksLate: false });
    expect(app.tasks.get('ann.shared')!.options).toMatchObject({ rateLimit: '20/s', maxRetries: 1 });
    expect(app.tasks.get('ann.late')!.options).toMatchObject({ rateLimit: '20/s', acksLate: false });
    // the shared task object, and the app without annotations, keep the defined options
    expect(early.options.rateLimit).toBe('2/s');
    expect(other.tasks.get('ann.shared')!.options.rateLimit).toBe('2/s');
    // setting annotations later re-applies them to every registered task
    app.tasks.setAnnotations(prepareAnnotations({ 'ann.late': { acksLate: true } }));
    expect(app.tasks.get('ann.late')!.options).toMatchObject({ acksLate: true });
    expect(app.tasks.get('ann.shared')!.options.rateLimit).toBe('2/s');
    // the view still is the task: same name, callable, same function
    const view = app.tasks.get('ann.late')!;
    expect(view.taskName).toBe('ann.late');
    expect(view.fn).toBe(late.fn);
  });
});

describe('the worker with annotations', () => {
  it('rate limits by an annotated rateLimit', async () => {
    const app = memoryApp({ taskAnnotations: { 'rl.*': { rateLimit: '10/s' } } });
    const starts: number[] = [];
    const t = app.task('rl.task', async () => {
      starts.push(Date.now());
    });
    const worker = new Worker(app, { concurrency: 4, remoteControl: false });
    await worker.start();
    try {
      const results = await Promise.all([0, 1, 2, 3].map(() => t.delay()));
      await Promise.all(results.map((r) => r.get({ timeout: 5000 })));
      expect(starts[3]! - starts[0]!).toBeGreaterThanOrEqual(290);
    } finally {
      await worker.close();
      await app.close();
    }
  });

  it('acks late by an annotated acksLate (the message stays unacknowledged while the task runs)', async () => {
    const app = memoryApp({ taskAnnotations: [{ 'ack.late': { acksLate: true } }] });
    const seen: Record<string, unknown> = {};
    const probe = async (name: string): Promise<void> => {
      seen[name] = worker.activeRequests().find((r) => r.name === name)?.acknowledged;
    };
    const late = app.task('ack.late', () => probe('ack.late'));
    const early = app.task('ack.early', () => probe('ack.early'));
    const worker = new Worker(app, { concurrency: 1, remoteControl: false });
    await worker.start();
    try {
      await (await late.delay()).get({ timeout: 5000 });
      await (await early.delay()).get({ timeout: 5000 });
      expect(seen).toEqual({ 'ack.late': false, 'ack.early': true });
    } finally {
      await worker.close();
      await app.close();
    }
  });

  it('enforces an annotated timeLimit', async () => {
    const app = memoryApp({ taskAnnotations: (name: string) => (name === 'tl.slow' ? { timeLimit: 0.1 } : null) });
    let finished = false;
    const slow = app.task('tl.slow', async () => {
      await new Promise((r) => setTimeout(r, 2000).unref());
      finished = true;
    });
    const worker = new Worker(app, { concurrency: 1, remoteControl: false });
    await worker.start();
    try {
      const started = Date.now();
      const result = await slow.delay();
      await expect(result.get({ timeout: 5000 })).rejects.toMatchObject({ excType: 'TimeLimitExceeded' });
      expect(Date.now() - started).toBeLessThan(1500);
      await waitFor(() => worker.active === 0, 2000, 'the slot to be freed');
      expect(finished).toBe(false);
    } finally {
      await worker.close();
      await app.close();
    }
  });
});
