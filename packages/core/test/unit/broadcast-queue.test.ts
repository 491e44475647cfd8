/** Broadcast queues (Celery's Broadcast): taskQueues with exchangeType fanout; every worker runs each task. */
import { randomUUID } from 'node:crypto';
import { Celeriac, MemoryBroker, MemoryKeyValueStore, Worker, createLogger, resolveRoute } from '../../src';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

it('routes a broadcast queue to its fanout exchange', () => {
  const app = new Celeriac({ brokerUrl: 'memory://', taskQueues: [{ name: 'everyone', exchangeType: 'fanout' }] });
  expect(resolveRoute(app.conf, { name: 't', args: [], kwargs: {}, queue: 'everyone' })).toMatchObject({ queue: null, broadcast: true, publish: { exchange: 'everyone', routingKey: '' } });
});

it('every worker consuming a broadcast queue runs the task once', async () => {
  const hub = `memory://${randomUUID()}`;
  const seen: string[] = [];
  const make = () => {
    const app = new Celeriac({ brokerUrl: hub, resultBackend: hub, taskQueues: [{ name: 'everyone', exchangeType: 'fanout' }], logger: createLogger('silent') });
    app.task('t.hello', async function (this: { request: { hostname: string } }, text: string) {
      seen.push(`${this.request.hostname}:${text}`);
    });
    return app;
  };
  const apps = [make(), make(), make()];
  const workers = [new Worker(apps[0]!, { hostname: 'a@test', queues: ['everyone', 'celery'] }), new Worker(apps[1]!, { hostname: 'b@test', queues: ['everyone'] })];
  for (const w of workers) await w.start();
  try {
    await apps[2]!.sendTask('t.hello', ['hi'], {}, { queue: 'everyone' });
    for (let i = 0; i < 200 && seen.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen.sort()).toEqual(['a@test:hi', 'b@test:hi']);
    // An ordinary queue still goes to one worker.
    await apps[2]!.sendTask('t.hello', ['one'], {}, { queue: 'celery' });
    for (let i = 0; i < 200 && seen.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    expect(seen.filter((s) => s.endsWith(':one'))).toEqual(['a@test:one']);
  } finally {
    for (const w of workers) await w.close();
    for (const a of apps) await a.close();
  }
});
