/**
 * The README's first quick-start command runs this sample on embedded defaults (no server): a Nest
 * app whose @Task methods run on the in-process worker. Drives it over HTTP as a user would, then
 * stops it with SIGTERM. Runs the build output (`npm test` builds first).
 */
import { spawn } from 'node:child_process';
import { deleteKeys, killChildren, poll, startSample } from './sample-process';

afterAll(killChildren);

it('queues tasks over HTTP, runs them with DI and retries, and drains on SIGTERM', async () => {
  const { child, base, output } = await startSample({});
  expect(output()).toContain('broker memory://sample');
  for (let i = 0; i < 200 && !output().includes('Ctrl+C stops it'); i++) await new Promise((r) => setTimeout(r, 10));
  expect(output()).toContain('Beat sends the periodic tasks stored in sqlite::memory:');

  const analyze = await fetch(`${base}/reports/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'the cat and the hat and the bat', top: 2 }) });
  expect(analyze.status).toBe(202);
  const { taskId } = (await analyze.json()) as { taskId: string };
  const report = await poll(`${base}/tasks/${taskId}`, (b) => b.state === 'SUCCESS');
  expect(report.result).toEqual({ words: 8, top: [['the', 3], ['and', 2]] });

  // A chord: three analyze tasks in parallel, then one merge of their reports.
  const batch = await fetch(`${base}/reports/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['a b a', 'b c b', 'c a c'] }) });
  expect(batch.status).toBe(202);
  const { taskId: mergedId, parts } = (await batch.json()) as { taskId: string; parts: string[] };
  expect(parts).toHaveLength(3);
  const merged = await poll(`${base}/tasks/${mergedId}`, (b) => b.state === 'SUCCESS');
  expect(merged.result).toEqual({ words: 9, top: [['a', 3], ['b', 3], ['c', 3]] });
  const part = await poll(`${base}/tasks/${parts[0]!}`, (b) => b.state === 'SUCCESS');
  expect(part.result).toEqual({ words: 3, top: [['a', 2], ['b', 1]] });

  // The terminus health check: the in-process worker is consuming.
  const health = await fetch(`${base}/health`);
  expect(health.status).toBe(200);
  expect(await health.json()).toMatchObject({ status: 'ok', details: { celeriac: { status: 'up', lifecycle: 'running', roles: ['producer', 'worker', 'beat'] } } });

  const bad = await fetch(`${base}/reports/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text": 42}' });
  expect(bad.status).toBe(400);

  const exported = (await (await fetch(`${base}/reports/export/sales`, { method: 'POST' })).json()) as { taskId: string };
  const done = await poll(`${base}/tasks/${exported.taskId}`, (b) => b.state === 'SUCCESS');
  expect(done.result).toBe('sales.csv exported after 2 retries');

  expect(await poll(`${base}/tasks/never-sent`, () => true)).toEqual({ id: 'never-sent', state: 'PENDING', known: false });

  // The admin table: refused without credentials; the @Periodic schedules are rows there.
  const admin = `${base}/admin/periodic-tasks`;
  const auth = { authorization: `Basic ${Buffer.from('admin:celeriac').toString('base64')}` };
  expect((await fetch(`${admin}/api/periodic-tasks`)).status).toBe(401);
  const list = (await (await fetch(`${admin}/api/periodic-tasks?sort=name`, { headers: auth })).json()) as { items: Array<{ id: number; name: string; source: string; scheduleText: string }> };
  expect(list.items.map((t) => [t.name, t.source, t.scheduleText])).toEqual([
    ['reports.heartbeat', 'code', 'every 30 seconds'],
    ['reports.nightly_digest', 'code', 'At 03:00 (UTC)'],
  ]);
  // An admin edit (with the page's CSRF token): heartbeat every second; beat picks it up and runs it.
  const html = await (await fetch(`${admin}/`, { headers: auth })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(html)![1]!;
  const heartbeat = list.items[0]!;
  const edited = await fetch(`${admin}/api/periodic-tasks/${heartbeat.id}`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify({ schedule: { kind: 'interval', every: 1, period: 'seconds' } }),
  });
  expect(edited.status).toBe(200);
  const runs = await poll(`${admin}/api/periodic-tasks/${heartbeat.id}/runs`, (b) => (b.items as Array<{ state: string }>).some((r) => r.state === 'SUCCESS'), 15_000);
  expect((runs.items as Array<{ manual: boolean }>)[0]!.manual).toBe(false);
  const audit = (await (await fetch(`${admin}/api/periodic-tasks/${heartbeat.id}/audit`, { headers: auth })).json()) as { items: Array<{ actor: string; action: string }> };
  expect(audit.items[0]).toMatchObject({ actor: 'admin', action: 'update' });

  // Nest's shutdown hooks close the app (the worker drains) and then re-raise the signal.
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  child.kill('SIGTERM');
  await expect(exited).resolves.toEqual({ code: null, signal: 'SIGTERM' });
  expect(output()).not.toMatch(/ERROR|Unhandled/);
});

describe('on Redis, as a web producer and a separate worker process', () => {
  const prefix = `t-sample-${Math.random().toString(36).slice(2, 8)}:`;
  const url = 'redis://127.0.0.1:6379/0';
  afterAll(async () => {
    await deleteKeys(url, prefix);
  });

  it('the producer queues over HTTP and the worker process runs the task', async () => {
    const redisEnv = {
      CELERIAC_BROKER_URL: url,
      CELERIAC_RESULT_BACKEND: url,
      CELERIAC_BROKER_TRANSPORT_OPTIONS: JSON.stringify({ globalKeyprefix: prefix }),
      CELERIAC_RESULT_BACKEND_TRANSPORT_OPTIONS: JSON.stringify({ globalKeyprefix: prefix }),
    };
    const worker = await startSample({ ...redisEnv, SAMPLE_ROLES: 'worker' });
    const web = await startSample({ ...redisEnv, SAMPLE_ROLES: 'producer' });
    expect(web.output()).toContain(`broker ${url}`);
    const res = await fetch(`${web.base}/reports/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'x y x' }) });
    const { taskId } = (await res.json()) as { taskId: string };
    const report = await poll(`${web.base}/tasks/${taskId}`, (b) => b.state === 'SUCCESS');
    expect(report.result).toEqual({ words: 3, top: [['x', 2], ['y', 1]] });
    // the web process never consumes: stopping the worker leaves new tasks queued
    const workerExit = new Promise((r) => worker.child.once('exit', r));
    worker.child.kill('SIGTERM');
    await workerExit;
    const queued = (await (await fetch(`${web.base}/reports/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"text":"later"}' })).json()) as { taskId: string };
    await new Promise((r) => setTimeout(r, 300));
    expect(await poll(`${web.base}/tasks/${queued.taskId}`, () => true)).toMatchObject({ state: 'PENDING' });
    web.child.kill('SIGTERM');
  });
});

describe('on RabbitMQ with Redis results, as a web producer and a separate worker process', () => {
  const prefix = `t-sample-amqp-${Math.random().toString(36).slice(2, 8)}:`;
  const redisUrl = 'redis://127.0.0.1:6379/0';
  const vhost = `t-sample-${Math.random().toString(36).slice(2, 8)}`;
  const run = (args: string[]) =>
    new Promise<void>((ok, fail) => {
      const p = spawn('rabbitmqctl', ['-q', ...args], { stdio: 'ignore' });
      p.once('exit', (code) => (code === 0 ? ok() : fail(new Error(`rabbitmqctl ${args.join(' ')} exited ${code}`))));
    });
  beforeAll(async () => {
    await run(['add_vhost', vhost]);
    await run(['set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*']);
  }, 30_000);
  afterAll(async () => {
    await run(['delete_vhost', vhost]);
    await deleteKeys(redisUrl, prefix);
  }, 30_000);

  it('the producer queues over HTTP, the worker process runs the task and the batch chord', async () => {
    const env = {
      CELERIAC_BROKER_URL: `amqp://guest:guest@127.0.0.1:5672/${vhost}`,
      CELERIAC_RESULT_BACKEND: redisUrl,
      CELERIAC_RESULT_BACKEND_TRANSPORT_OPTIONS: JSON.stringify({ globalKeyprefix: prefix }),
    };
    const worker = await startSample({ ...env, SAMPLE_ROLES: 'worker' });
    const web = await startSample({ ...env, SAMPLE_ROLES: 'producer' });
    const res = await fetch(`${web.base}/reports/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'p q p' }) });
    const { taskId } = (await res.json()) as { taskId: string };
    expect((await poll(`${web.base}/tasks/${taskId}`, (b) => b.state === 'SUCCESS')).result).toEqual({ words: 3, top: [['p', 2], ['q', 1]] });
    const batch = await fetch(`${web.base}/reports/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['a b', 'b c'] }) });
    const { taskId: mergedId } = (await batch.json()) as { taskId: string };
    expect((await poll(`${web.base}/tasks/${mergedId}`, (b) => b.state === 'SUCCESS')).result).toEqual({ words: 4, top: [['b', 2], ['a', 1], ['c', 1]] });
    for (const p of [web, worker]) {
      const exited = new Promise((r) => p.child.once('exit', r));
      p.child.kill('SIGTERM');
      await exited;
    }
  }, 60_000);
});
