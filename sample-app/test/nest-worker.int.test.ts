/**
 * `celeriac worker --nest`: the sample's AppModule booted by the celeriac CLI as the worker (tasks run
 * with their providers' DI), the sample's web process as the producer, on Redis under a prefix of
 * this file's own. The CLI worker's --health-port answers while it consumes.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { deleteKeys, killChildren, poll, startProcess, startSample, type Started } from './sample-process';

const ROOT = resolve(__dirname, '../..');
const CLI = resolve(ROOT, 'packages/core/dist/cli/main.js');
const prefix = `t-sample-nest-${Math.random().toString(36).slice(2, 8)}:`;
const url = 'redis://127.0.0.1:6379/0';
const redisEnv = {
  CELERIAC_BROKER_URL: url,
  CELERIAC_RESULT_BACKEND: url,
  CELERIAC_BROKER_TRANSPORT_OPTIONS: JSON.stringify({ globalKeyprefix: prefix }),
  CELERIAC_RESULT_BACKEND_TRANSPORT_OPTIONS: JSON.stringify({ globalKeyprefix: prefix }),
};

const dir = mkdtempSync(join(tmpdir(), 'celeriac-sample-nest-'));

afterAll(async () => {
  killChildren();
  await deleteKeys(url, prefix);
  rmSync(dir, { recursive: true, force: true });
});

async function stop(p: Started): Promise<number | null> {
  const exited = new Promise<number | null>((r) => p.child.once('exit', (code) => r(code)));
  p.child.kill('SIGTERM');
  return exited;
}

it('runs the Nest app\'s tasks with DI, sent by the web producer, and reports its health', async () => {
  // SAMPLE_ROLES=worker would start the module's own worker: --nest overrides the roles (producer only).
  const worker = startProcess([CLI, 'worker', '--nest', 'sample-app/dist/app.module.js:AppModule', '-c', '2', '-n', 'nest-cli@%h', '--health-port', '0', '--health-host', '127.0.0.1', '-l', 'info'], { ...redisEnv, SAMPLE_ROLES: 'worker' }, ROOT);
  const health = (await worker.waitFor(/health: (http:\S+)\n/))[1]!;
  await worker.waitFor(/nest-cli@\S+ ready\./);
  expect(worker.output()).toContain('.> app:         __main__ (sample-app/dist/app.module.js:AppModule)');
  expect(worker.output()).toContain('  . reports.analyze\n');

  const web = await startSample({ ...redisEnv, SAMPLE_ROLES: 'producer' });
  const res = await fetch(`${web.base}/reports/analyze`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'n e s t n' }) });
  const { taskId } = (await res.json()) as { taskId: string };
  expect((await poll(`${web.base}/tasks/${taskId}`, (b) => b.state === 'SUCCESS')).result).toEqual({ words: 5, top: [['n', 2], ['e', 1], ['s', 1]] });

  const probe = await fetch(health);
  expect(probe.status).toBe(200);
  const report = (await probe.json()) as { healthy: boolean; hostname: string; processed: number };
  expect(report).toMatchObject({ healthy: true, processed: 1 });
  expect(report.hostname).toMatch(/^nest-cli@/);
  // the web process is a producer: its terminus check has no worker to look at
  expect(await (await fetch(`${web.base}/health`)).json()).toMatchObject({ status: 'ok', details: { celeriac: { status: 'up', roles: ['producer'] } } });

  expect(await stop(worker)).toBe(0);
  expect(worker.output()).not.toMatch(/"level":(50|60)|Unhandled/);
  await stop(web);
}, 60_000);

it('celeriac beat --nest runs the module\'s database scheduler: an admin edit made in the web process reaches it and the worker runs the task', async () => {
  // One SQLite file shared by the web process (admin table) and the beat process.
  const db = { CELERIAC_BEAT_DB_URL: `sqlite:${join(dir, 'beat.sqlite')}` };
  const web = await startSample({ ...redisEnv, ...db, SAMPLE_ROLES: 'producer' });
  const worker = startProcess([CLI, 'worker', '--nest', 'sample-app/dist/app.module.js', '-c', '2', '-n', 'nest-beat-w@%h', '-l', 'info'], { ...redisEnv }, ROOT);
  await worker.waitFor(/nest-beat-w@\S+ ready\./);
  const beat = startProcess([CLI, 'beat', '--nest', 'sample-app/dist/app.module.js'], { ...redisEnv, ...db }, ROOT);
  await beat.waitFor(/celeriac beat v\S+ is starting \(Nest app AppModule of .*app\.module\.js\)/);

  const admin = `${web.base}/admin/periodic-tasks`;
  const auth = { authorization: `Basic ${Buffer.from('admin:celeriac').toString('base64')}` };
  const list = (await (await fetch(`${admin}/api/periodic-tasks?sort=name`, { headers: auth })).json()) as { items: Array<{ id: number; name: string }> };
  const heartbeat = list.items.find((t) => t.name === 'reports.heartbeat')!;
  const html = await (await fetch(`${admin}/`, { headers: auth })).text();
  const csrf = /<meta name="csrf-token" content="([^"]+)"/.exec(html)![1]!;
  const edited = await fetch(`${admin}/api/periodic-tasks/${heartbeat.id}`, {
    method: 'PATCH',
    headers: { ...auth, 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: JSON.stringify({ schedule: { kind: 'interval', every: 1, period: 'seconds' } }),
  });
  expect(edited.status).toBe(200);
  // The beat process sent it (the web process is only a producer), the --nest worker ran it.
  const runs = await poll(`${admin}/api/periodic-tasks/${heartbeat.id}/runs`, (b) => (b.items as Array<{ state: string }>).some((r) => r.state === 'SUCCESS'), 20_000);
  expect((runs.items as Array<{ manual: boolean }>)[0]!.manual).toBe(false);
  await worker.waitFor(/Task reports\.heartbeat\[\S+\] succeeded/);

  expect(await stop(beat)).toBe(0);
  expect(await stop(worker)).toBe(0);
  await stop(web);
  expect(beat.output()).not.toMatch(/"level":(50|60)|Unhandled/);
}, 60_000);

it.each(['threads', 'processes'])('with -P %s every child boots the Nest app and runs its tasks with DI', async (pool) => {
  const worker = startProcess([CLI, 'worker', '--nest', 'sample-app/dist/app.module.js:AppModule', '-P', pool, '-c', '2', '-n', `nest-${pool}@%h`, '-l', 'info'], { ...redisEnv }, ROOT);
  await worker.waitFor(new RegExp(`nest-${pool}@\\S+ ready\\.`), 30_000);
  expect(worker.output()).toContain(`.> concurrency: 2 (${pool})`);
  const web = await startSample({ ...redisEnv, SAMPLE_ROLES: 'producer' });
  // a chord: the parts and the merge run in the children, each task through its provider (TextStatsService injected)
  const batch = await fetch(`${web.base}/reports/batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ texts: ['a b a', 'b c b', 'c a c'] }) });
  const { taskId } = (await batch.json()) as { taskId: string };
  expect((await poll(`${web.base}/tasks/${taskId}`, (b) => b.state === 'SUCCESS', 20_000)).result).toEqual({ words: 9, top: [['a', 3], ['b', 3], ['c', 3]] });
  expect(await stop(worker)).toBe(0);
  await stop(web);
  expect(worker.output()).not.toMatch(/"level":(50|60)|Unhandled|NotRegistered/);
}, 60_000);
