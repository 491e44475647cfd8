/**
 * The canvas on real Redis: chain, group, chord (Celery's native join in `celery-taskset-meta-<gid>.j`),
 * a chord of 1,000 members, map/chunks, errbacks, and a chord whose join runs in list mode
 * (`resultChordOrdered: false`). Two workers share the queue, so header members complete on
 * different processes' connections, as in production.
 *
 * Isolation: DB 0 with this file's own key prefix on broker and result keys (testNamespace);
 * everything under the prefix is deleted afterwards.
 */
import { Redis } from 'ioredis';
import { Celeriac, GroupResult, Worker, chain, chord, createLogger, group, type TaskRequest } from '../../src';
import { testNamespace } from '../helpers/namespace';

const ns = testNamespace('canvas-redis');
const T = { timeout: 20_000 };

function makeApp(extra: Record<string, unknown> = {}) {
  const app = new Celeriac({
    brokerUrl: ns.redisUrl,
    resultBackend: ns.redisUrl,
    brokerTransportOptions: { globalKeyprefix: ns.prefix },
    resultBackendTransportOptions: { globalKeyprefix: ns.prefix, ...((extra.resultBackendTransportOptions as object) ?? {}) },
    taskDefaultQueue: ns.name('q'),
    logger: createLogger('silent'),
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'resultBackendTransportOptions')),
  });
  const add = app.task('t.add', async (x: number, y: number) => x + y);
  const mul = app.task('t.mul', async (x: number, y: number) => x * y);
  const xsum = app.task('t.xsum', async (values: number[]) => values.reduce((a, b) => a + b, 0));
  const fail = app.task('t.fail', async (why: string) => {
    throw new Error(why);
  });
  const flatSum = app.task('t.flatsum', async (values: unknown[]) => {
    const flat = (v: unknown): number => (Array.isArray(v) ? v.reduce<number>((a, b) => a + flat(b), 0) : (v as number));
    return flat(values);
  });
  return { app, add, mul, xsum, fail, flatSum };
}

const errbackCalls: string[] = [];
const client = makeApp();
const w1 = makeApp();
const w2 = makeApp();
w1.app.task('t.err_old', async (id: string) => {
  errbackCalls.push(id);
  return id;
});
w2.app.task('t.err_old', async (id: string) => {
  errbackCalls.push(id);
  return id;
});
const workers = [new Worker(w1.app, { concurrency: 20, hostname: 'w1@canvas' }), new Worker(w2.app, { concurrency: 20, hostname: 'w2@canvas' })];
const redis = new Redis(ns.redisUrl, { lazyConnect: true });

beforeAll(async () => {
  await redis.connect();
  for (const w of workers) await w.start();
});

afterAll(async () => {
  for (const w of workers) await w.close();
  await client.app.close();
  await w1.app.close();
  await w2.app.close();
  redis.disconnect();
  await ns.cleanup();
});

test('chain on Redis: results flow step to step; parents are linked', async () => {
  const { add, mul } = client;
  const r = await chain(add.s(1, 2), add.s(3), mul.s(10)).applyAsync();
  await expect(r.get(T)).resolves.toBe(60);
  await expect(r.parent!.get(T)).resolves.toBe(6);
  const children = await r.parent!.parent!.children();
  expect(children.map((c) => c.id)).toEqual([r.parent!.id]);
});

test('group on Redis: ordered results, saved and restored', async () => {
  const { add } = client;
  const r = await group(Array.from({ length: 20 }, (_, i) => add.s(i, i))).applyAsync();
  await expect(r.get(T)).resolves.toEqual(Array.from({ length: 20 }, (_, i) => 2 * i));
  await r.save();
  expect(await redis.exists(`${ns.prefix}celery-taskset-meta-${r.id}`)).toBe(1);
  const restored = await GroupResult.restore<number[]>(client.app, r.id);
  await expect(restored!.get(T)).resolves.toHaveLength(20);
});

test('chord of 1,000 members joins natively and cleans its join keys', async () => {
  const { add, xsum } = client;
  const n = 1000;
  const r = await chord(Array.from({ length: n }, (_, i) => add.s(i, 0)), xsum.s()).applyAsync();
  await expect(r.get({ timeout: 60_000 })).resolves.toBe((n * (n - 1)) / 2);
  const gid = r.parent!.id;
  expect(await redis.exists(`${ns.prefix}celery-taskset-meta-${gid}.j`, `${ns.prefix}celery-taskset-meta-${gid}.s`)).toBe(0);
});

test('a failed chord member gives ChordError; old-style errbacks get the failed body id', async () => {
  const { add, xsum, fail, app } = client;
  const body = xsum.s();
  body.onError(app.signature('t.err_old'));
  const r = await chord([add.s(1, 1), fail.s('member broke')], body).applyAsync();
  const err = await r.get(T).catch((e: unknown) => e);
  expect(err).toMatchObject({ excType: 'ChordError', excModule: 'celery.exceptions' });
  expect((err as Error).message).toContain("Exception('member broke')");
  for (let i = 0; i < 500 && !errbackCalls.includes(r.id); i++) await new Promise((res) => setTimeout(res, 10));
  expect(errbackCalls).toContain(r.id);
});

test('chain with a chord in the middle whose header holds chains and a group', async () => {
  const { add, mul, flatSum } = client;
  // 3 -> header [3*2+1, 3*3+1, [3+1, 3+2]] = [7, 10, [4, 5]] -> flatSum 26 -> *10
  const r = await chain(add.s(1, 2), chord([chain(mul.s(2), add.s(1)), chain(mul.s(3), add.s(1)), group([add.s(1), add.s(2)])], flatSum.s()), mul.s(10)).applyAsync();
  await expect(r.get(T)).resolves.toBe(260);
});

test('map and chunks on Redis', async () => {
  const { add } = client;
  await expect((await add.starmap([[1, 2], [3, 4]]).delay()).get(T)).resolves.toEqual([3, 7]);
  await expect((await add.chunks(Array.from({ length: 10 }, (_, i) => [i, i] as [number, number]), 3).applyAsync()).get(T)).resolves.toEqual([[0, 2, 4], [6, 8, 10], [12, 14, 16], [18]]);
});

test('chord join in list mode (resultChordOrdered: false) still gives every result', async () => {
  const listMode = makeApp({ resultBackendTransportOptions: { resultChordOrdered: false } });
  const lw = makeApp({ resultBackendTransportOptions: { resultChordOrdered: false }, taskDefaultQueue: ns.name('list-q') });
  const listClient = makeApp({ resultBackendTransportOptions: { resultChordOrdered: false }, taskDefaultQueue: ns.name('list-q') });
  const worker = new Worker(lw.app, { concurrency: 5 });
  await worker.start();
  try {
    const r = await chord([listClient.add.s(1, 1), listClient.add.s(2, 2), listClient.add.s(3, 3)], listClient.xsum.s()).applyAsync();
    await expect(r.get(T)).resolves.toBe(12);
  } finally {
    await worker.close();
    await lw.app.close();
    await listClient.app.close();
    await listMode.app.close();
  }
});

test('new-style errback runs on the worker with the failed request', async () => {
  const seen: string[] = [];
  const handler = async (request: TaskRequest, error: Error) => {
    seen.push(`${request.name}:${error.message}`);
  };
  w1.app.task('t.err_new', handler);
  w2.app.task('t.err_new', handler);
  const r = await client.fail.applyAsync(['new style'], { linkError: client.app.signature('t.err_new') });
  await expect(r.get(T)).rejects.toMatchObject({ excMessage: ['new style'] });
  for (let i = 0; i < 500 && !seen.length; i++) await new Promise((res) => setTimeout(res, 10));
  expect(seen).toEqual(['t.fail:new style']);
});
