/**
 * Fault test: a worker is killed (SIGKILL) while running an acksLate task. Its message stays in
 * Kombu's `unacked` hash; once the visibility timeout passes, the next worker restores it and runs it
 * again, and the result is stored. Nothing is lost.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Celeriac, createLogger } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(ROOT, 'packages/core/dist/cli/main.js');
const FIXTURE = resolve(__dirname, '../fixtures/cli/acks-late-app.js');
const ns = testNamespace('worker-killed');
const children: ChildProcess[] = [];
const raw = new Redis(ns.redisUrl);

function startWorker(name: string): ChildProcess {
  const child = spawn(process.execPath, [MAIN, 'worker', '-A', FIXTURE, '-c', '2', '-n', `${name}@%h`, '-l', 'warning'], {
    cwd: ROOT,
    env: { ...process.env, FAULT_REDIS_URL: ns.redisUrl, FAULT_PREFIX: ns.prefix },
    stdio: 'ignore',
  });
  children.push(child);
  return child;
}

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  raw.disconnect();
  await ns.cleanup();
});

it('re-runs an acksLate task whose worker was killed, after the visibility timeout', async () => {
  const client = new Celeriac({
    ...ns.redisBroker(),
    ...ns.redisResults(),
    logger: createLogger('silent'),
  });
  try {
    const first = startWorker('doomed');
    const result = await client.sendTask<string>('fault.slow', ['token-1', 3000]);
    await waitFor(async () => (await raw.llen(`${ns.prefix}runs`)) === 1, 15_000, 'first run started');
    expect(await raw.hlen(`${ns.prefix}unacked`)).toBe(1);
    const exited = new Promise((r) => first.once('exit', r));
    first.kill('SIGKILL');
    await exited;

    startWorker('rescuer');
    await expect(result.get({ timeout: 25_000 })).resolves.toBe('token-1');
    const runs = await raw.lrange(`${ns.prefix}runs`, 0, -1);
    expect(runs).toHaveLength(2);
    expect(runs[0]!.split(':')[0]).toBe(String(first.pid));
    expect(runs[1]!.split(':')[0]).not.toBe(String(first.pid));
    await waitFor(async () => (await raw.hlen(`${ns.prefix}unacked`)) === 0, 5000, 'acked after the rerun');
  } finally {
    await client.close();
  }
});
