import { type Celeriac, GroupResult, MemoryBroker, MemoryKeyValueStore, Worker, chain, chord, group, signatureFromDict, type TaskContext, type TaskRequest } from '../../src';
import { memoryApp } from '../helpers/memory-app';

const makeApp = memoryApp;

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('canvas on the memory broker', () => {
  let app: Celeriac;
  let worker: Worker;
  const T = { timeout: 10_000 };

  function tasks() {
    const add = app.task('t.add', async (x: number, y: number) => x + y);
    const mul = app.task('t.mul', async (x: number, y: number) => x * y);
    const xsum = app.task('t.xsum', async (values: number[]) => values.reduce((a, b) => a + b, 0));
    const fail = app.task('t.fail', async (why: string) => {
      throw new Error(why);
    });
    return { add, mul, xsum, fail };
  }

  beforeEach(async () => {
    app = makeApp();
  });
  afterEach(async () => {
    await worker?.close();
    await app?.close();
  });

  async function start(concurrency = 4) {
    worker = new Worker(app, { concurrency });
    await worker.start();
  }

  it('partial signatures prepend call arguments', async () => {
    const { add } = tasks();
    await start();
    const r = await add.s(2).delay(8);
    await expect(r.get(T)).resolves.toBe(10);
  });

  it('chain passes each result on and links parents', async () => {
    const { add, mul } = tasks();
    await start();
    const r = await chain(add.s(1, 2), add.s(3), mul.s(10)).applyAsync();
    await expect(r.get(T)).resolves.toBe(60);
    expect(r.parent).toBeDefined();
    await expect(r.parent!.get(T)).resolves.toBe(6);
    await expect(r.parent!.parent!.get(T)).resolves.toBe(3);
  });

  it('group returns ordered results', async () => {
    const { add } = tasks();
    await start();
    const r = await group([add.s(1, 1), add.s(2, 2), add.s(3, 3)]).applyAsync();
    expect(r).toBeInstanceOf(GroupResult);
    await expect(r.get(T)).resolves.toEqual([2, 4, 6]);
    await expect(r.completedCount()).resolves.toBe(3);
  });

  it('chord runs the body once with ordered header results', async () => {
    const { add, xsum } = tasks();
    await start();
    const r = await chord([add.s(1, 1), add.s(2, 2)], xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(6);
  });

  it('a failing chord member fails the body with ChordError', async () => {
    const { add, xsum, fail } = tasks();
    await start();
    const r = await chord([add.s(1, 1), fail.s('nope')], xsum.s()).applyAsync();
    const err = await r.get(T).catch((e: unknown) => e);
    expect(err).toMatchObject({ excType: 'ChordError' });
    expect(String((err as Error).message)).toContain('nope');
  });

  it('group in the middle of a chain becomes a chord', async () => {
    const { add, mul, xsum } = tasks();
    await start();
    const r = await chain(add.s(1, 1), group([mul.s(2), mul.s(3)]), xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(10);
  });

  it('replace hands the task id to the replacement', async () => {
    const { add } = tasks();
    const outer = app.task('t.outer', async function (this: TaskContext, x: number) {
      return await this.replace<number>(add.s(x, 100));
    });
    await start();
    const r = await outer.delay(1);
    await expect(r.get(T)).resolves.toBe(101);
  });

  it('group result helpers: ready, successful, failed, waiting, join, propagate:false', async () => {
    const { add, fail } = tasks();
    await start();
    const r = await group([add.s(1, 1), fail.s('g')]).applyAsync();
    await expect(r.get(T)).rejects.toMatchObject({ excMessage: ['g'] });
    const values = await r.join({ ...T, propagate: false });
    expect(values[0]).toBe(2);
    expect(values[1]).toBeInstanceOf(Error);
    await expect(r.ready()).resolves.toBe(true);
    await expect(r.waiting()).resolves.toBe(false);
    await expect(r.successful()).resolves.toBe(false);
    await expect(r.failed()).resolves.toBe(true);
    await expect(r.completedCount()).resolves.toBe(1);
    await expect(r.state()).resolves.toBe('FAILURE');
  });

  it('GroupResult.save() and restore() in Celery\'s format', async () => {
    const { add } = tasks();
    await start();
    const r = await group([add.s(1, 1), add.s(2, 2)]).applyAsync();
    await r.save();
    const restored = await GroupResult.restore<number[]>(app, r.id);
    expect(restored!.results.map((x) => x.id)).toEqual(r.results.map((x) => x.id));
    await expect(restored!.get(T)).resolves.toEqual([2, 4]);
    await restored!.forget();
    await expect(GroupResult.restore(app, r.id)).resolves.toBeNull();
  });

  it('a chord with an empty header runs the body with []', async () => {
    const { xsum } = tasks();
    await start();
    const r = await chord([], xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(0);
  });

  it('a failing chain step stops the chain, fails the later steps and calls its errbacks (old and new style)', async () => {
    const { add, fail } = tasks();
    const seen: string[] = [];
    const oldStyle = app.task('t.err_old', async (id: string) => {
      seen.push(`old:${id}`);
      return id;
    });
    const newStyle = app.task('t.err_new', async (request: TaskRequest, error: Error, traceback: string | null) => {
      seen.push(`new:${request.id}:${error.message}:${typeof traceback}`);
    });
    const after = app.task('t.after', async (x: number) => {
      seen.push(`after:${x}`);
      return x;
    });
    await start();
    const c = chain(add.s(1, 1), fail.si('stop here'), after.s());
    c.onError(oldStyle.s());
    c.onError(newStyle.s());
    const r = await c.applyAsync();
    await expect(r.get(T)).rejects.toMatchObject({ excMessage: ['stop here'] });
    const failedId = r.parent!.id;
    await expect(r.parent!.get(T)).rejects.toMatchObject({ excMessage: ['stop here'] });
    for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((res) => setTimeout(res, 10));
    expect(seen.sort()).toEqual([`new:${failedId}:stop here:string`, `old:${failedId}`]);
  });

  it('callbacks get the result; several are sent as a group; children lists them', async () => {
    const { add, mul } = tasks();
    await start();
    const r = await add.applyAsync([2, 3], { link: [mul.s(10), mul.s(100)] });
    await expect(r.get(T)).resolves.toBe(5);
    const children = await r.children();
    expect(children).toHaveLength(1);
    expect(children[0]).toBeInstanceOf(GroupResult);
    await expect(children[0]!.get(T)).resolves.toEqual([50, 500]);
  });

  it('collect() walks the result graph, parents first', async () => {
    const { add, mul } = tasks();
    await start();
    const r = await add.applyAsync([1, 1], { link: mul.s(3) });
    const pairs: Array<[string, unknown]> = [];
    for await (const [res, value] of r.collect(T)) pairs.push([res.id, value]);
    expect(pairs.map((p) => p[1])).toEqual([2, 6]);
    expect(pairs[0]![0]).toBe(r.id);
  });

  it('tasks sent from a task body are its children', async () => {
    const { add } = tasks();
    const spawner = app.task('t.spawn', async () => {
      await add.delay(1, 2);
      await add.delay(3, 4);
      return 'spawned';
    });
    await start();
    const r = await spawner.delay();
    await r.get(T);
    const kids = await r.children();
    await expect(Promise.all(kids.map((k) => k.get(T)))).resolves.toEqual([3, 7]);
  });

  it('map, starmap and chunks run on the worker', async () => {
    const { add } = tasks();
    const double = app.task('t.double', async (x: number) => x * 2);
    await start();
    await expect((await double.map([1, 2, 3]).delay()).get(T)).resolves.toEqual([2, 4, 6]);
    await expect((await add.starmap([[1, 2], [3, 4]]).delay()).get(T)).resolves.toEqual([3, 7]);
    const chunks = await add.chunks([[1, 1], [2, 2], [3, 3], [4, 4], [5, 5]], 2).applyAsync();
    await expect(chunks.get(T)).resolves.toEqual([[2, 4], [6, 8], [10]]);
  });

  it('chains and chords nest three levels deep', async () => {
    const { add, mul, xsum } = tasks();
    await start(8);
    // chord( [ chain(add, group(mul, mul) -> xsum), chord([add, add], xsum), group(add, group(add, add)) ], xsum-of-flattened )
    const flatSum = app.task('t.flatsum', async (values: unknown[]) => {
      const flat = (v: unknown): number => (Array.isArray(v) ? v.reduce<number>((a, b) => a + flat(b), 0) : (v as number));
      return flat(values);
    });
    const inner1 = chain(add.s(1, 1), group([mul.s(2), mul.s(3)]), xsum.s()); // (2*2 + 2*3) = 10
    const inner2 = chord([add.s(2, 2), add.s(3, 3)], xsum.s()); // 4 + 6 = 10
    const inner3 = group([add.s(1, 0), group([add.s(2, 0), add.s(3, 0)])]); // [1, [2, 3]]
    const r = await chord([inner1, inner2, inner3], flatSum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(10 + 10 + 6);
    // A chain whose middle step is a chord whose header holds chains.
    const r2 = await chain(add.s(1, 2), chord([chain(mul.s(2), add.s(1)), chain(mul.s(3), add.s(1))], xsum.s()), mul.s(10)).applyAsync();
    await expect(r2.get(T)).resolves.toBe(((3 * 2 + 1) + (3 * 3 + 1)) * 10);
  });

  it('retries inside a chord header still give the body every result once', async () => {
    const { add, xsum } = tasks();
    const attempts = new Map<number, number>();
    const flaky = app.task(
      't.flaky',
      async function (this: TaskContext, x: number) {
        const n = (attempts.get(x) ?? 0) + 1;
        attempts.set(x, n);
        if (n < 3) this.retry({ countdown: 0 });
        return x;
      },
      { maxRetries: 5 },
    );
    let bodyRuns = 0;
    const body = app.task('t.body', async (values: number[]) => {
      bodyRuns++;
      return values;
    });
    await start();
    const r = await chord([flaky.s(1), add.s(1, 1), flaky.s(3)], body.s()).applyAsync();
    await expect(r.get(T)).resolves.toEqual([1, 2, 3]);
    expect(attempts.get(1)).toBe(3);
    expect(bodyRuns).toBe(1);
    void xsum;
  });

  it('a 1,000-member group and chord', async () => {
    const { add, xsum } = tasks();
    await start(50);
    const n = 1000;
    const g = await group(Array.from({ length: n }, (_, i) => add.s(i, 0))).applyAsync();
    const values = await g.get({ timeout: 30_000 });
    expect(values).toHaveLength(n);
    expect(values[999]).toBe(999);
    const c = await chord(Array.from({ length: n }, (_, i) => add.s(i, 1)), xsum.s()).applyAsync();
    await expect(c.get({ timeout: 30_000 })).resolves.toBe((n * (n - 1)) / 2 + n);
  });

  it('replace with a group lifts it to a chord; the rest of the chain continues', async () => {
    const { add, xsum } = tasks();
    const fan = app.task('t.fan', async function (this: TaskContext, n: number) {
      return await this.replace(group(Array.from({ length: n }, (_, i) => add.s(i, 10))));
    });
    await start();
    const r = await chain(fan.s(3), xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(10 + 11 + 12);
  });

  it('replace inside a chord header keeps the member in the chord', async () => {
    const { add, xsum } = tasks();
    const viaReplace = app.task('t.via', async function (this: TaskContext, x: number) {
      return await this.replace(add.s(x, 1000));
    });
    await start();
    const r = await chord([viaReplace.s(1), add.s(2, 2)], xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(1001 + 4);
  });

  it('an expired chord member is REVOKED and the body fails with ChordError', async () => {
    const { add, xsum } = tasks();
    await start();
    const r = await chord([add.s(1, 1), add.s(2, 2).set({ expires: new Date(Date.now() - 1000) })], xsum.s()).applyAsync();
    await expect(r.get(T)).rejects.toMatchObject({ excType: 'ChordError', message: expect.stringContaining('TaskRevokedError') });
  });

  it('an unknown task in a chord header fails the body instead of hanging', async () => {
    const { add, xsum } = tasks();
    await start();
    const r = await chord([add.s(1, 1), app.signature('no.such.task', [])], xsum.s()).applyAsync();
    await expect(r.get(T)).rejects.toMatchObject({ excType: 'ChordError', message: expect.stringContaining('NotRegistered') });
  });

  it('chord errbacks are called with the ChordError', async () => {
    const { add, xsum, fail } = tasks();
    const errors: string[] = [];
    const onErr = app.task('t.onerr', async (request: TaskRequest, error: Error) => {
      errors.push(`${request.name}:${error.name}`);
    });
    await start();
    const c = chord([add.s(1, 1), fail.s('x')], xsum.s());
    c.onError(onErr.s());
    const r = await c.applyAsync();
    await expect(r.get(T)).rejects.toMatchObject({ excType: 'ChordError' });
    for (let i = 0; i < 200 && !errors.length; i++) await new Promise((res) => setTimeout(res, 10));
    expect(errors).toEqual(['t.xsum:ChordError']);
  });

  it('backends without a native join use celery.chord_unlock', async () => {
    const { add, xsum } = tasks();
    const backend = app.resultBackend() as unknown as Record<string, unknown>;
    delete backend.setChordSize;
    delete backend.chordPartReturn;
    await start();
    const unlocks: string[] = [];
    worker.on('task-received', (e: { name: string }) => e.name === 'celery.chord_unlock' && unlocks.push(e.name));
    const r = await chord([add.s(1, 1), add.s(2, 2)], xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(6);
    expect(unlocks.length).toBeGreaterThanOrEqual(1);
  });

  it('eager mode runs chains, groups and chords in process', async () => {
    await app.close();
    app = makeApp({ taskAlwaysEager: true });
    const { add, mul, xsum } = tasks();
    await expect((await chain(add.s(1, 2), mul.s(10)).applyAsync()).get()).resolves.toBe(30);
    await expect((await group([add.s(1, 1), add.s(2, 2)]).applyAsync()).get()).resolves.toEqual([2, 4]);
    await expect((await chord([add.s(1, 1), add.s(2, 2)], xsum.s()).applyAsync()).get()).resolves.toBe(6);
  });

  it("a chord dict as Celery freezes it (options.task_id = the group id) keeps the body's own id", async () => {
    const { add, xsum } = tasks();
    await start();
    const dict = chord([add.s(1, 1), add.s(2, 2)], xsum.s()).toDict();
    dict.options = { task_id: 'group-id-1' };
    (dict.kwargs as { header: { options: Record<string, unknown> } }).header.options = { task_id: 'group-id-1' };
    (dict.kwargs as { body: { options: Record<string, unknown> } }).body.options = { task_id: 'body-id-1' };
    const r = await signatureFromDict(dict).bind(app).applyAsync();
    expect(r.id).toBe('body-id-1');
    await expect(app.asyncResult('body-id-1').get(T)).resolves.toBe(6);
    expect(r.parent!.id).toBe('group-id-1');
  });

  it('workflow ids: a chord run as a chain step keeps the step as its body\'s parent; a plain chord\'s body has the completing header task', async () => {
    const seen = new Map<string, { parentId: string | null; rootId: string }>();
    const note = (ctx: TaskContext) => seen.set(ctx.request.id, { parentId: ctx.request.parentId, rootId: ctx.request.rootId });
    const add = app.task('ids.add', async function (this: TaskContext, x: number, y: number) {
      note(this);
      return x + y;
    });
    const xsum = app.task('ids.xsum', async function (this: TaskContext, values: number[]) {
      note(this);
      return values.reduce((a, b) => a + b, 0);
    });
    await start();
    const r = await chain(add.s(1, 1), group([add.s(2), add.s(3)]), xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(2 + 2 + 2 + 3);
    const first = r.parent!.parent!.id;
    expect(seen.get(r.id)).toEqual({ parentId: first, rootId: first });
    const c = await chord([add.s(1, 1), add.s(2, 2)], xsum.s()).applyAsync();
    await c.get(T);
    const headerIds = (c.parent as GroupResult).results.map((x) => x.id);
    expect(headerIds).toContain(seen.get(c.id)!.parentId);
  });
});
