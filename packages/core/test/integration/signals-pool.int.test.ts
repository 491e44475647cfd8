/**
 * Task signals fire where the task runs: with -P threads and -P processes (through the built CLI) a
 * taskPrerun/taskPostrun listener registered in the app module runs in the child thread/process
 * that ran the task, while workerReady runs in the worker's main process (as Celery's task_prerun
 * fires in the prefork child and worker_ready in the main process).
 */
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Celeriac, createLogger } from '../../src';
import { testNamespace } from '../helpers/namespace';
import { CLI_MAIN as MAIN, launchNode } from '../helpers/node-process';
import { waitFor } from '../helpers/wait';

const FIXTURE = resolve(__dirname, '../fixtures/cli/signals-pool-app.js');
const ns = testNamespace('signals-pool');
const raw = new Redis(ns.redisUrl);
const spawned: ChildProcess[] = [];

const client = new Celeriac({
  ...ns.redisBroker(),
  ...ns.redisResults(),
  logger: createLogger('silent'),
});

afterAll(async () => {
  for (const p of spawned) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  await client.close();
  await ns.cleanup();
  raw.disconnect();
});

interface Entry {
  signal: string;
  taskId?: string;
  state?: string;
  pid: number;
  threadId: number;
}

describe.each(['threads', 'processes'] as const)('signals with -P %s', (kind) => {
  it('task signals fire in the child that ran the task, workerReady in the main process', async () => {
    const key = ns.name(`signals-${kind}`);
    const queue = ns.name(`q-${kind}`);
    const { proc, exited } = await launchNode([MAIN, 'worker', '-A', FIXTURE, '-P', kind, '-c', '1', '-n', `sig-${kind}@%h`, '-Q', queue, '-l', 'info'], {
      ready: ' ready.',
      env: { POOL_REDIS_URL: ns.redisUrl, POOL_PREFIX: ns.prefix, SIGNALS_KEY: key },
      timeoutMs: 20_000,
      spawned,
    });

    const r = await client.sendTask<{ pid: number; threadId: number }>('signals.where', [], {}, { queue });
    const where = await r.get({ timeout: 15_000 });
    const entries = async (): Promise<Entry[]> => (await raw.lrange(key, 0, -1)).map((s) => JSON.parse(s) as Entry);
    await waitFor(async () => (await entries()).some((e) => e.signal === 'taskPostrun'), 10_000, 'taskPostrun');
    const all = await entries();
    const ready = all.find((e) => e.signal === 'workerReady')!;
    expect(ready).toMatchObject({ pid: proc.pid, threadId: 0 });
    const run = all.filter((e) => e.taskId === r.id);
    expect(run.map((e) => e.signal)).toEqual(['taskPrerun', 'taskPostrun']);
    expect(run[1]).toMatchObject({ state: 'SUCCESS' });
    for (const e of run) expect({ pid: e.pid, threadId: e.threadId }).toEqual(where);
    if (kind === 'threads') {
      expect(where.pid).toBe(proc.pid);
      expect(where.threadId).not.toBe(0);
    } else expect(where.pid).not.toBe(proc.pid);

    proc.kill('SIGTERM');
    await exited;
  }, 60_000);
});
