/**
 * `celeriac beat` and `celeriac worker -B` as processes, on Redis: the banner, tasks sent and run,
 * and a clean stop on SIGTERM (exit 0, lease given back). Uses the built CLI (packages/core/dist).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ns = testNamespace('beat-cli');
const raw = new Redis(ns.redisUrl);
const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(ROOT, 'packages/core/dist/cli/main.js');
const FIXTURE = resolve(__dirname, '../fixtures/cli/beat-app.js');
const children: ChildProcess[] = [];

function run(prefix: string, args: string[]): { child: ChildProcess; stdout: () => string; exit: Promise<number | null> } {
  const child = spawn(process.execPath, [MAIN, ...args, '-A', FIXTURE, '-l', 'warning'], {
    cwd: ROOT,
    env: { ...process.env, BEAT_REDIS_URL: ns.redisUrl, BEAT_PREFIX: prefix },
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { child, stdout: () => out, exit };
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  raw.disconnect();
  await ns.cleanup();
});

it('celeriac beat prints its entries, leads, sends, and gives the lease back on SIGTERM', async () => {
  const prefix = ns.name('beat:');
  const beat = run(prefix, ['beat']);
  await waitFor(() => beat.stdout().includes('tick: beat.tick every 200ms'), 15_000, 'the beat banner');
  expect(beat.stdout()).toContain('celeriac beat v');
  expect(beat.stdout()).toContain('store -> RedisScheduleStore');
  await waitFor(async () => (await raw.llen(`${prefix}celery`)) >= 2, 15_000, 'two messages in the celery queue');
  expect(await raw.get(`${prefix}beat:leader`)).not.toBeNull();
  beat.child.kill('SIGTERM');
  await expect(beat.exit).resolves.toBe(0);
  expect(await raw.get(`${prefix}beat:leader`)).toBeNull();
});

it('celeriac worker -B runs beat in the worker: the scheduled tasks run', async () => {
  const prefix = ns.name('worker-b:');
  const worker = run(prefix, ['worker', '-B', '-c', '2']);
  await waitFor(async () => (await raw.llen(`${prefix}ticks`)) >= 3, 20_000, 'three runs of beat.tick');
  worker.child.kill('SIGTERM');
  await expect(worker.exit).resolves.toBe(0);
  expect(await raw.get(`${prefix}beat:leader`)).toBeNull();
});
