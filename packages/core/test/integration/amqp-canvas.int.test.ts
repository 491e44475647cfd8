/**
 * The canvas with a RabbitMQ broker and Redis results (the popular pairing): chain, group, a chord of
 * 1,000 members (Redis native join), a failing member, a chord in a chain; two workers share the queue.
 *
 * Isolation: a vhost of this file's own (deleted afterwards); result keys under this file's prefix in
 * Redis DB 0 (deleted afterwards).
 */
import { Celeriac, Worker, chain, chord, createLogger, group } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';

const ns = testNamespace('amqp-canvas');
const T = { timeout: 30_000 };
let vhost: TestVhost;
const apps: Celeriac[] = [];
const workers: Worker[] = [];

function makeApp() {
  const app = new Celeriac({ brokerUrl: vhost.url, ...ns.redisResults(), logger: createLogger('silent') });
  apps.push(app);
  return {
    app,
    add: app.task('c.add', async (x: number, y: number) => x + y),
    mul: app.task('c.mul', async (x: number, y: number) => x * y),
    xsum: app.task('c.xsum', async (values: number[]) => values.reduce((a, b) => a + b, 0)),
    fail: app.task('c.fail', async (why: string) => {
      throw new Error(why);
    }),
  };
}

let client: ReturnType<typeof makeApp>;

beforeAll(async () => {
  vhost = await createTestVhost('amqp-canvas');
  client = makeApp();
  for (const name of ['w1@canvas', 'w2@canvas']) {
    const w = new Worker(makeApp().app, { hostname: name, concurrency: 20, remoteControl: false });
    workers.push(w);
    await w.start();
  }
}, 30_000);

afterAll(async () => {
  for (const w of workers) await w.close();
  for (const a of apps) await a.close();
  await vhost.delete();
  await ns.cleanup();
}, 30_000);

test('chain', async () => {
  const r = await chain(client.add.s(1, 2), client.add.s(3), client.mul.s(10)).applyAsync();
  await expect(r.get(T)).resolves.toBe(60);
  await expect(r.parent!.get(T)).resolves.toBe(6);
});

test('group', async () => {
  const r = await group(Array.from({ length: 50 }, (_, i) => client.add.s(i, i))).applyAsync();
  await expect(r.get(T)).resolves.toEqual(Array.from({ length: 50 }, (_, i) => 2 * i));
});

test('chord of 1,000 members', async () => {
  const r = await chord(Array.from({ length: 1000 }, (_, i) => client.add.s(i, 0)), client.xsum.s()).applyAsync();
  await expect(r.get({ timeout: 60_000 })).resolves.toBe((1000 * 999) / 2);
}, 70_000);

test('a failing member fails the body with ChordError', async () => {
  const r = await chord([client.add.s(1, 1), client.fail.s('amqp member')], client.xsum.s()).applyAsync();
  await expect(r.get(T)).rejects.toMatchObject({ excType: 'ChordError', message: expect.stringContaining('amqp member') });
});

test('a group in the middle of a chain (a chord)', async () => {
  const r = await chain(client.add.s(1, 1), group([client.mul.s(2), client.mul.s(3)]), client.xsum.s()).applyAsync();
  await expect(r.get(T)).resolves.toBe(10);
});
