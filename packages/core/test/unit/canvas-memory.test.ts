import { randomUUID } from 'node:crypto';
import { Celeriac, ChordError, GroupResult, MemoryBroker, MemoryKeyValueStore, Worker, chain, chord, createLogger, group, type TaskContext } from '../../src';

function makeApp(extra: Record<string, unknown> = {}) {
  const name = randomUUID();
  return new Celeriac({ brokerUrl: `memory://${name}`, resultBackend: `memory://${name}`, logger: createLogger('silent'), ...extra });
}

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
});
