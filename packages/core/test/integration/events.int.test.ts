/**
 * Celery events on real brokers: our EventReceiver gets worker-online, heartbeats, task-sent and the
 * task events of our worker, and worker-offline; heartbeatSent fires. Redis: a key prefix of this
 * file's own (channels carry it too); RabbitMQ: a vhost of its own, where the event exchange and the
 * receiver's queue are declared as Celery declares them.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { Celeriac, type EventBase, EventReceiver, Worker, createLogger } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { createTestVhost, listQueues, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';

const run = promisify(execFile);
const ns = testNamespace('events');
let vhost: TestVhost;

beforeAll(async () => {
  vhost = await createTestVhost('events');
});

afterAll(async () => {
  await ns.cleanup();
  await vhost?.delete();
});

type Kind = 'redis' | 'amqp';

function makeApp(kind: Kind, extra: Partial<ConstructorParameters<typeof Celeriac>[0]> = {}): Celeriac {
  return new Celeriac({
    brokerUrl: kind === 'redis' ? ns.redisUrl : vhost.url,
    brokerTransportOptions: kind === 'redis' ? { globalKeyprefix: ns.prefix } : {},
    ...ns.redisResults(),
    taskDefaultQueue: ns.name(`${kind}-q`),
    logger: createLogger('silent'),
    ...extra,
  });
}

describe.each<Kind>(['redis', 'amqp'])('events on %s', (kind) => {
  const apps: Celeriac[] = [];
  let worker: Worker | undefined;
  let receiver: EventReceiver | undefined;
  afterAll(async () => {
    await worker?.close();
    await receiver?.close();
    await Promise.all(apps.map((a) => a.close()));
  });

  it('the receiver gets worker and task events from our worker and client', async () => {
    const listener = makeApp(kind);
    const server = makeApp(kind);
    const client = makeApp(kind, { taskSendSentEvent: true });
    apps.push(listener, server, client);
    const events: EventBase[] = [];
    receiver = new EventReceiver(listener);
    receiver.on('*', (e) => void events.push(e));
    await receiver.start();

    server.task('math.add', async (x: number, y: number) => x + y);
    const beats: string[] = [];
    server.signals.on('heartbeatSent', ({ type }) => void beats.push(type));
    const hostname = `events-${kind}@test`;
    worker = new Worker(server, { hostname, heartbeatInterval: 0.1, taskEvents: true, concurrency: 2 });
    await worker.start();
    const mine = (type: string): EventBase[] => events.filter((e) => e.type === type && e.hostname === hostname);
    await waitFor(() => mine('worker-heartbeat').length >= 2, 10_000, 'two heartbeats');
    expect(mine('worker-online')).toHaveLength(1);
    expect(mine('worker-heartbeat')[0]).toMatchObject({ freq: 0.1, swIdent: 'celeriac', pid: process.pid });

    const r = await client.sendTask('math.add', [2, 3]);
    await expect(r.get({ timeout: 10_000 })).resolves.toBe(5);
    await waitFor(() => events.some((e) => e.uuid === r.id && e.type === 'task-succeeded') && events.some((e) => e.uuid === r.id && e.type === 'task-sent'), 10_000, 'task events');
    expect(events.filter((e) => e.uuid === r.id && e.hostname === hostname).map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
    expect(events.find((e) => e.type === 'task-sent' && e.uuid === r.id)).toMatchObject({ name: 'math.add', args: '(2, 3)', routingKey: ns.name(`${kind}-q`) });
    expect(events.find((e) => e.type === 'task-succeeded' && e.uuid === r.id)).toMatchObject({ result: '5' });

    await worker.close();
    worker = undefined;
    await waitFor(() => mine('worker-offline').length === 1, 10_000, 'worker-offline');
    expect(beats[0]).toBe('worker-online');
    expect(beats.filter((b) => b === 'worker-heartbeat').length).toBeGreaterThanOrEqual(2);
    expect(beats.at(-1)).toBe('worker-offline');
  });

  if (kind === 'amqp') {
    it('declares celeryev as a durable topic exchange and the receiver queue as Celery does', async () => {
      const queues = await listQueues(vhost.name);
      const q = queues.find((x) => x.name === receiver!.queue.name);
      expect(q).toMatchObject({ durable: false, auto_delete: true, arguments: { 'x-expires': 60000, 'x-message-ttl': 5000 } });
      expect(receiver!.queue.name).toMatch(/^celeryev\.[0-9a-f-]{36}$/);
      const { stdout } = await run('rabbitmqctl', ['-q', 'list_exchanges', '-p', vhost.name, '--formatter', 'json', 'name', 'type', 'durable']);
      const exchanges = JSON.parse(stdout) as Array<{ name: string; type: string; durable: boolean }>;
      expect(exchanges.find((e) => e.name === 'celeryev')).toEqual({ name: 'celeryev', type: 'topic', durable: true });
      await receiver!.close();
      await waitFor(async () => !(await listQueues(vhost.name)).some((x) => x.name === receiver!.queue.name), 10_000, 'the receiver queue to go');
      receiver = undefined;
    });
  } else {
    it('binds the receiver through _kombu.binding.celeryev and removes the binding when closed', async () => {
      const redis = new Redis(ns.redisUrl);
      try {
        const key = `${ns.prefix}_kombu.binding.celeryev`;
        expect((await redis.smembers(key)).some((m) => m.endsWith(receiver!.queue.name))).toBe(true);
        await receiver!.close();
        expect((await redis.smembers(key)).some((m) => m.endsWith(receiver!.queue.name))).toBe(false);
        receiver = undefined;
      } finally {
        redis.disconnect();
      }
    });
  }
});
