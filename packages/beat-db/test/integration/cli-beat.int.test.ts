/**
 * `celeriac-beat-db beat -A <module> --migrate` as a process (the built CLI, packages/beat-db/dist):
 * migrates a fresh SQLite file, upserts the app's beatSchedule as a row, sends it on schedule to Redis,
 * and on SIGTERM gives the lease back and exits 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { testNamespace } from '../../../core/test/helpers/namespace';
import { waitFor } from '../../../core/test/helpers/wait';
import { createTestDatabase, type TestDatabase } from '../helpers/test-database';

const ns = testNamespace('beat-db-cli');
const raw = new Redis(ns.redisUrl);
const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(ROOT, 'packages/beat-db/dist/cli/main.js');
const FIXTURE = resolve(__dirname, '../fixtures/beat-db-app.js');
let db: TestDatabase;
let child: ChildProcess | undefined;

beforeAll(async () => {
  db = await createTestDatabase('sqlite', { migrate: false });
});
afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  raw.disconnect();
  await ns.cleanup();
  await db?.drop();
});

it('migrates, upserts the code schedule, sends it on time, and stops cleanly on SIGTERM', async () => {
  const prefix = ns.name('');
  child = spawn(process.execPath, [MAIN, 'beat', '-A', FIXTURE, '--url', db.url, '--migrate'], {
    cwd: ROOT,
    env: { ...process.env, BEAT_REDIS_URL: ns.redisUrl, BEAT_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exit = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
  await waitFor(() => out.includes('sending the periodic tasks of sqlite:'), 15_000, 'the start line');
  expect(out).toMatch(/Applied 1 migration\(s\): BeatDbInitial\d+/);
  await waitFor(async () => (await raw.llen(`${prefix}celery`)) >= 3, 15_000, 'three messages in the celery queue');
  const body = JSON.parse((await raw.lindex(`${prefix}celery`, 0))!) as { headers: { task: string } };
  expect(body.headers.task).toBe('beatdb.tick');
  const [row] = await db.dataSource.query<Array<{ source: string; total_run_count: number }>>("SELECT source, total_run_count FROM celeriac_beat_periodic_task WHERE name = 'beatdb-tick'");
  expect(row!.source).toBe('code');
  expect(row!.total_run_count).toBeGreaterThanOrEqual(3);
  child.kill('SIGTERM');
  await expect(exit).resolves.toBe(0);
  const leases = await db.dataSource.query<Array<{ expires_at: number }>>('SELECT holder, expires_at FROM celeriac_beat_lease');
  for (const lease of leases) expect(Number(lease.expires_at)).toBeLessThanOrEqual(Date.now());
});
