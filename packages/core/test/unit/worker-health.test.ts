// Worker.health() on the memory broker, describeHealth's rules, and the health endpoint's HTTP
// contract (paths, methods, HEAD, a failing source).
import { startHealthServer, type HealthServer } from '../../src/worker/health-server';
import { Worker } from '../../src/worker/worker';
import { describeHealth, type WorkerHealth } from '../../src/worker/worker-health';
import { memoryApp } from '../helpers/memory-app';

describe('describeHealth', () => {
  const facts = { lifecycle: 'running' as const, hostname: 'w@h', queues: ['celery'], consumer: { consuming: true }, active: 1, processed: 7, startedAtMs: 1_000 };

  it('is healthy only while running and consuming', () => {
    expect(describeHealth(facts, 3_500)).toEqual({ healthy: true, lifecycle: 'running', hostname: 'w@h', queues: ['celery'], active: 1, processed: 7, uptimeSeconds: 2.5 });
    expect(describeHealth({ ...facts, consumer: { consuming: false, reason: 'blocking connection reconnecting' } })).toMatchObject({ healthy: false, reason: 'not consuming: blocking connection reconnecting' });
    expect(describeHealth({ ...facts, lifecycle: 'starting', startedAtMs: null })).toMatchObject({ healthy: false, reason: 'worker is starting', uptimeSeconds: 0 });
    expect(describeHealth({ ...facts, lifecycle: 'stopping' })).toMatchObject({ healthy: false, reason: 'worker is stopping' });
  });

  it('takes a broker that cannot tell as consuming', () => {
    expect(describeHealth({ ...facts, consumer: undefined }).healthy).toBe(true);
  });
});

describe('Worker.health() on the memory broker', () => {
  it('follows the worker: created, running, stopped', async () => {
    const app = memoryApp();
    const worker = new Worker(app, { concurrency: 1, remoteControl: false });
    expect(worker.health()).toMatchObject({ healthy: false, lifecycle: 'created' });
    await worker.start();
    expect(worker.health()).toMatchObject({ healthy: true, lifecycle: 'running', queues: ['celery'] });
    await worker.close();
    expect(worker.health()).toMatchObject({ healthy: false, lifecycle: 'stopped' });
    await app.close();
  });
});

describe('health endpoint', () => {
  let current: () => WorkerHealth;
  let server: HealthServer;
  const healthy: WorkerHealth = { healthy: true, lifecycle: 'running', hostname: 'w@h', queues: ['q'], active: 0, processed: 3, uptimeSeconds: 9 };

  beforeAll(async () => {
    server = await startHealthServer({ health: () => current() }, { port: 0, host: '127.0.0.1' });
  });
  afterAll(() => server.close());

  const get = (path: string, init?: RequestInit): Promise<Response> => fetch(`http://127.0.0.1:${server.port}${path}`, init);

  it('answers 200 with the report when healthy, 503 when not, on every probe path', async () => {
    current = () => healthy;
    for (const path of ['/', '/health', '/healthz', '/livez', '/readyz?verbose=1']) {
      const res = await get(path);
      expect([path, res.status, res.headers.get('content-type')]).toEqual([path, 200, 'application/json; charset=utf-8']);
      expect(await res.json()).toEqual(healthy);
    }
    current = () => ({ ...healthy, healthy: false, reason: 'not consuming: no open channel' });
    const res = await get('/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ healthy: false, reason: 'not consuming: no open channel' });
  });

  it('HEAD has the status and no body; other methods 405; unknown paths 404', async () => {
    current = () => healthy;
    const head = await get('/health', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe('');
    const post = await get('/health', { method: 'POST' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get('/metrics')).status).toBe(404);
  });

  it('a health source that throws is unhealthy, not a crash', async () => {
    current = () => {
      throw new Error('boom');
    };
    const res = await get('/health');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ healthy: false, reason: 'health check failed: boom' });
  });

  it('a port in use is an error at start', async () => {
    await expect(startHealthServer({ health: () => healthy }, { port: server.port, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
  });
});
