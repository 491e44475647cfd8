// Celery events between Celeriac and Celery 5.2.6 (Debian's /usr/bin/python3), on Redis and on
// RabbitMQ, both ways:
// - Python's celery.events.EventReceiver + app.events.State (py/events_peer.py, which also
//   broadcasts `heartbeat` as it starts, as `celery events` does) sees our worker online and alive,
//   its task events (batched task.multi) turned into RECEIVED/STARTED/SUCCESS/FAILURE, and offline.
// - Our EventReceiver sees a Python worker started with -E: online, heartbeats, task events.
//
// Setup: Redis DB 7 (events are pub/sub: nothing stored; hostnames and queues are unique per run,
// result keys of this run deleted afterwards); RabbitMQ: a vhost of this file's own.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Celeriac, type EventBase, EventReceiver, Worker, createLogger } from '../../src/index';
import { createTestVhost, type TestVhost } from '../helpers/rabbit-vhost';
import { waitFor } from '../helpers/wait';
import { PY_DIR, PYTHON, assertPythonCelery, cleanupRedis, pythonEnv, startPythonWorker, uniqueQueue, type InteropConfig, type PythonWorker } from './helpers/python';

const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_EVENTS_REDIS_URL ?? 'redis://127.0.0.1:6379/7';
const TIMEOUT = 20_000;

interface PyLine {
  ready?: boolean;
  event?: Record<string, unknown> & { type: string; hostname: string; uuid?: string };
  worker_alive?: boolean;
  task_state?: string | null;
  task_name?: string | null;
  task_result?: string | null;
}

/** py/events_peer.py: Python's EventReceiver, one JSON line per event. */
function pythonReceiver(config: InteropConfig): { child: ChildProcess; lines: PyLine[]; output: () => string } {
  const child = spawn(PYTHON, ['events_peer.py'], { cwd: PY_DIR, env: pythonEnv(config), stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: PyLine[] = [];
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
    for (let i = out.indexOf('\n'); i >= 0; i = out.indexOf('\n')) {
      lines.push(JSON.parse(out.slice(0, i)) as PyLine);
      out = out.slice(i + 1);
    }
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  return { child, lines, output: () => err.slice(-4000) };
}

/** SIGINT first: Kombu then removes its receiver queue's binding (`_kombu.binding.celeryev` on Redis); SIGKILL after 10 s. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

let vhost: TestVhost;
const ids = new Set<string>();

beforeAll(async () => {
  await assertPythonCelery();
  vhost = await createTestVhost('events-interop');
}, 60_000);

afterAll(async () => {
  await cleanupRedis(REDIS_URL, { queues: [], taskIds: ids });
  await vhost?.delete();
}, 60_000);

describe.each(['redis', 'amqp'] as const)('events with Python Celery on %s', (kind) => {
  const children: ChildProcess[] = [];
  const apps: Celeriac[] = [];
  let worker: Worker | undefined;
  let pyWorker: PythonWorker | undefined;
  let receiver: EventReceiver | undefined;
  let config: InteropConfig;

  beforeAll(() => {
    config = { brokerUrl: kind === 'redis' ? REDIS_URL : vhost.url, backendUrl: REDIS_URL, queue: uniqueQueue(`events-${kind}`) };
  });

  afterAll(async () => {
    await pyWorker?.stop();
    await worker?.close();
    await receiver?.close();
    for (const c of children) await stopChild(c);
    await Promise.all(apps.map((a) => a.close()));
    if (kind === 'redis') await cleanupRedis(REDIS_URL, { queues: [config.queue], taskIds: [] });
  }, 60_000);

  /** An app on the shared queue, named as Celery names its exchange and routing key. */
  function makeApp(): Celeriac {
    const app = new Celeriac({
      brokerUrl: config.brokerUrl,
      resultBackend: REDIS_URL,
      taskDefaultQueue: config.queue,
      taskDefaultExchange: config.queue,
      taskDefaultRoutingKey: config.queue,
      logger: createLogger('silent'),
    });
    apps.push(app);
    return app;
  }

  it(
    "Python's EventReceiver and State follow our worker and its tasks",
    async () => {
      const py = pythonReceiver(config);
      children.push(py.child);
      await waitFor(() => py.lines.length > 0 || py.child.exitCode !== null, TIMEOUT, 'the Python receiver').catch((e: Error) => {
        throw new Error(`${e.message}\n${py.output()}`);
      });
      expect(py.lines[0]).toEqual({ ready: true });

      const server = makeApp();
      server.task('interop.add', async (x: number, y: number) => x + y);
      server.task('interop.fail', async (msg: string) => {
        throw new RangeError(msg);
      });
      const hostname = `node-${randomBytes(4).toString('hex')}@events`;
      worker = new Worker(server, { hostname, concurrency: 1, taskEvents: true, heartbeatInterval: 0.5 });
      await worker.start();
      const of = (type: string): PyLine[] => py.lines.filter((l) => l.event?.type === type && l.event.hostname === hostname);
      await waitFor(() => of('worker-heartbeat').some((l) => l.worker_alive === true), TIMEOUT, 'Python to see our worker alive').catch((e: Error) => {
        throw new Error(`${e.message}\n${py.output()}`);
      });
      expect(of('worker-heartbeat')[0]!.event).toMatchObject({ freq: 0.5, sw_ident: 'celeriac', active: 0, processed: 0 });

      const client = makeApp();
      const ok = await client.sendTask('interop.add', [2, 3]);
      const bad = await client.sendTask('interop.fail', ['boom']);
      ids.add(ok.id).add(bad.id);
      await expect(ok.get({ timeout: TIMEOUT })).resolves.toBe(5);
      await bad.get({ timeout: TIMEOUT }).catch(() => undefined);
      const forTask = (id: string): PyLine[] => py.lines.filter((l) => l.event?.uuid === id);
      await waitFor(() => forTask(ok.id).some((l) => l.task_state === 'SUCCESS') && forTask(bad.id).some((l) => l.task_state === 'FAILURE'), TIMEOUT, 'the task events in Python');
      expect(forTask(ok.id).map((l) => [l.event!.type, l.task_state])).toEqual([
        ['task-received', 'RECEIVED'],
        ['task-started', 'STARTED'],
        ['task-succeeded', 'SUCCESS'],
      ]);
      expect(forTask(ok.id).at(-1)).toMatchObject({ task_name: 'interop.add', task_result: '5' });
      expect(forTask(ok.id)[0]!.event).toMatchObject({ name: 'interop.add', args: '(2, 3)', kwargs: '{}', root_id: ok.id, retries: 0 });
      expect(forTask(bad.id).at(-1)!.event).toMatchObject({ type: 'task-failed', exception: "ValueError('boom')" });

      await worker.close();
      worker = undefined;
      await waitFor(() => of('worker-offline').length === 1, TIMEOUT, 'worker-offline in Python');
      expect(of('worker-offline')[0]!.worker_alive).toBe(false);
      await stopChild(py.child);
    },
    90_000,
  );

  it(
    'our EventReceiver follows a Python worker started with -E',
    async () => {
      const listener = makeApp();
      const events: EventBase[] = [];
      receiver = new EventReceiver(listener);
      receiver.on('*', (e) => void events.push(e));
      await receiver.start();
      pyWorker = await startPythonWorker(config, { taskEvents: true, heartbeat: true });
      const prefix = pyWorker.nodename.split('@')[0]! + '@';
      const fromPy = (type: string): EventBase[] => events.filter((e) => e.type === type && e.hostname.startsWith(prefix));
      await waitFor(() => fromPy('worker-online').length + fromPy('worker-heartbeat').length > 0, TIMEOUT, 'an event of the Python worker');
      expect((fromPy('worker-online')[0] ?? fromPy('worker-heartbeat')[0])!).toMatchObject({ swIdent: 'py-celery', swVer: '5.2.6', freq: 2, pid: pyWorker.pid });

      const client = makeApp();
      const r = await client.sendTask('interop.add', [2, 3]);
      ids.add(r.id);
      await expect(r.get({ timeout: TIMEOUT })).resolves.toBe(5);
      await waitFor(() => events.some((e) => e.uuid === r.id && e.type === 'task-succeeded'), TIMEOUT, 'task-succeeded from Python');
      const mine = events.filter((e) => e.uuid === r.id);
      expect(mine.map((e) => e.type)).toEqual(['task-received', 'task-started', 'task-succeeded']);
      expect(mine[0]).toMatchObject({ name: 'interop.add', args: '(2, 3)', kwargs: '{}', rootId: r.id, parentId: null, retries: 0, eta: null, expires: null });
      expect(mine[2]).toMatchObject({ result: '5', runtime: expect.any(Number) });
      expect(typeof mine[0]!.clock).toBe('number');

      await pyWorker.stop();
      pyWorker = undefined;
      await waitFor(() => fromPy('worker-offline').length === 1, TIMEOUT, 'worker-offline from Python');
    },
    90_000,
  );
});
