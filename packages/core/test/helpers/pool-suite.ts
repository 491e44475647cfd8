/**
 * The test suite of a pool with children (-P threads, -P processes), run by pool-threads.int.test.ts
 * and pool-processes.int.test.ts (in parallel). Through the built CLI (and a Worker built
 * from dist for the AppSource factory and autoscale): tasks run in separate threads/processes and
 * their results come back through Redis; a hard time limit kills even a busy loop and the child is
 * replaced; revoke with terminate kills a running task; a child that exits fails its task with
 * WorkerLostError, or requeues it (acksLate + rejectOnWorkerLost); children are recycled after N tasks
 * or above a memory limit; autoscale grows and shrinks; nothing is left running after shutdown.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Redis } from 'ioredis';
import { Celeriac, createLogger, RemoteTaskError, TaskRevokedError, type AsyncResult } from '../../src';
import { testNamespace } from './namespace';
import { CLI_MAIN as MAIN, launchNode, REPO_ROOT as ROOT, type StartedProcess } from './node-process';
import { waitFor } from './wait';

const FIXTURE = resolve(__dirname, '../fixtures/cli/pool-app.js');
const PROGRAMMATIC = resolve(__dirname, '../fixtures/cli/pool-worker.js');

interface PoolStats {
  implementation: string;
  'max-concurrency': number;
  processes: number[];
}

interface Where {
  pid: number;
  threadId: number;
}

type Started = StartedProcess;

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids of live pool-child processes whose environment carries `mark` (Linux /proc). */
function childrenMarked(mark: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes('pool-child.js')) continue;
      if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(mark)) found.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const key = (w: Where): string => `${w.pid}:${w.threadId}`;

export function poolSuite(kind: 'threads' | 'processes'): void {
  const ns = testNamespace(`pool-${kind}`);
  const raw = new Redis(ns.redisUrl);
  const spawned: ChildProcess[] = [];

  const client = new Celeriac({
    ...ns.redisBroker(),
    ...ns.redisResults(),
    logger: createLogger('silent'),
  });

  /** Runs a node script with this file's Redis namespace; resolves once its output shows `ready`. */
  function launch(command: string[], ready: string, env: Record<string, string> = {}): Promise<Started> {
    // its own process group, for a Ctrl+C-like SIGINT to the whole group
    return launchNode(command, { ready, env: { POOL_REDIS_URL: ns.redisUrl, POOL_PREFIX: ns.prefix, ...env }, detached: true, spawned });
  }

  function startCli(name: string, queue: string, extra: string[] = []): Promise<Started> {
    return launch([MAIN, 'worker', '-A', FIXTURE, '-P', kind, '-n', `${name}@%h`, '-Q', queue, '-l', 'info', ...extra], `${name}@`);
  }

  function send<T>(name: string, queue: string, args: unknown[] = []): Promise<AsyncResult<T>> {
    return client.sendTask<T>(name, args, {}, { queue });
  }

  async function failureOf(result: AsyncResult<unknown>): Promise<RemoteTaskError> {
    const error = await result.get({ timeout: 15_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(RemoteTaskError);
    return error as RemoteTaskError;
  }

  /** The pool's ready children (pids or thread ids), from remote-control stats. */
  async function children(node: string): Promise<number[]> {
    const name = node.includes('@') ? node : `${node}@${hostname()}`;
    const stats = await client.control.inspect({ destination: [name], timeout: 1 }).stats();
    return (stats?.[name]?.pool as PoolStats | undefined)?.processes ?? [];
  }

  afterAll(async () => {
    for (const c of spawned) if (c.exitCode === null) c.kill('SIGKILL');
    await client.close();
    raw.disconnect();
    await ns.cleanup();
  });

  describe(`-P ${kind}`, () => {
    const isThreads = kind === 'threads';
    let worker: Started;
    const queue = ns.name(`${kind}-main`);
    const seen: Where[] = [];

    beforeAll(async () => {
      worker = await startCli(`main-${kind}`, queue, ['-c', '2']);
    });

    afterAll(async () => {
      if (worker.proc.exitCode === null) {
        worker.proc.kill('SIGTERM');
        await worker.exited;
      }
    });

    it('runs tasks at once in separate children; results come back through Redis', async () => {
      expect(worker.output()).toContain(`concurrency: 2 (${kind})`);
      const results = await Promise.all([send<Where>('pool.where', queue, [400]), send<Where>('pool.where', queue, [400])]);
      const wheres = await Promise.all(results.map((r) => r.get({ timeout: 10_000 })));
      seen.push(...wheres);
      expect(new Set(wheres.map(key)).size).toBe(2);
      for (const w of wheres) {
        if (isThreads) {
          expect(w.pid).toBe(worker.proc.pid);
          expect(w.threadId).toBeGreaterThan(0);
        } else {
          expect(w.pid).not.toBe(worker.proc.pid);
          expect(w.threadId).toBe(0);
        }
      }
    });

    it('kills a busy loop at its hard time limit (FAILURE TimeLimitExceeded) and replaces the child', async () => {
      const before = await children(`main-${kind}`);
      expect(before).toHaveLength(2);
      const error = await failureOf(await send('pool.spin', queue));
      expect(error.excType).toBe('TimeLimitExceeded');
      await worker.logged('Hard time limit (1s) exceeded for pool.spin');
      // One child was replaced; both serve: two tasks run at once.
      await waitFor(async () => (await children(`main-${kind}`)).filter((id) => !before.includes(id)).length === 1, 10_000, 'a replacement child ready', 50);
      const wheres = await Promise.all((await Promise.all([send<Where>('pool.where', queue, [300]), send<Where>('pool.where', queue, [300])])).map((r) => r.get({ timeout: 10_000 })));
      expect(new Set(wheres.map(key)).size).toBe(2);
    });

    it('revoke with terminate kills the running task (REVOKED)', async () => {
      const token = `${kind}-block`;
      const result = await send('pool.block', queue, [token]);
      await waitFor(async () => (await raw.exists(`${ns.prefix}started:${token}`)) === 1, 10_000, 'pool.block started');
      const started = JSON.parse((await raw.get(`${ns.prefix}started:${token}`))!) as Where;
      const active = await client.control.inspect({ destination: [`main-${kind}@${hostname()}`], timeout: 2 }).active();
      const request = Object.values(active ?? {})[0]?.[0];
      expect(request).toMatchObject({ id: result.id, worker_pid: started.pid, time_start: expect.any(Number) });
      await client.control.revoke(result.id, { terminate: true });
      await expect(result.get({ timeout: 10_000 })).rejects.toBeInstanceOf(TaskRevokedError);
      expect(await result.state()).toBe('REVOKED');
      await expect(send<Where>('pool.where', queue).then((r) => r.get({ timeout: 10_000 }))).resolves.toHaveProperty('pid');
    });

    it('fails a task whose child exits with WorkerLostError', async () => {
      const error = await failureOf(await send('pool.exit', queue, [1]));
      expect(error.excType).toBe('WorkerLostError');
      expect(error.message).toContain('Worker exited prematurely: exitcode 1');
    });

    it('requeues it instead with acksLate + rejectOnWorkerLost; it runs again', async () => {
      const token = `${kind}-once`;
      const result = await send<{ token: string; runs: number }>('pool.exit_once', queue, [token]);
      await expect(result.get({ timeout: 15_000 })).resolves.toEqual({ token, runs: 2 });
    });

    it('applies the soft time limit inside the child (SoftTimeLimitExceeded where the task awaits)', async () => {
      const error = await failureOf(await send('pool.soft', queue));
      expect(error.excType).toBe('SoftTimeLimitExceeded');
    });

    it('reports the pool in remote-control stats', async () => {
      const stats = await client.control.inspect({ destination: [`main-${kind}@${hostname()}`], timeout: 2 }).stats();
      const pool = Object.values(stats ?? {})[0]?.pool as PoolStats;
      expect(pool.implementation).toBe(`celeriac:${kind}`);
      expect(pool['max-concurrency']).toBe(2);
      // The child lost in the test before may still be starting its replacement: only ready ones are listed.
      await waitFor(async () => (await children(`main-${kind}`)).length === 2, 10_000, 'two ready children', 50);
      if (!isThreads) for (const pid of await children(`main-${kind}`)) expect(alive(pid)).toBe(true);
    });

    it('warm shutdown on Ctrl+C (SIGINT to the process group): the running task finishes, then no child is left', async () => {
      const result = await send<Where>('pool.where', queue, [1000]);
      await waitFor(async () => Object.values((await client.control.inspect({ destination: [`main-${kind}@${hostname()}`], timeout: 1 }).active()) ?? {})[0]?.length === 1, 10_000, 'the task running', 50);
      process.kill(-worker.proc.pid!, 'SIGINT');
      expect(await worker.exited).toBe(0);
      seen.push(await result.get({ timeout: 5000 }));
      if (!isThreads) for (const w of seen) expect(alive(w.pid)).toBe(false);
    });

    it('cold shutdown (SIGQUIT) kills a child in the middle of a task', async () => {
      const q = ns.name(`${kind}-cold`);
      const w = await startCli(`cold-${kind}`, q, ['-c', '1']);
      const token = `${kind}-cold`;
      await send('pool.block', q, [token]);
      await waitFor(async () => (await raw.exists(`${ns.prefix}started:${token}`)) === 1, 10_000, 'pool.block started');
      const where = JSON.parse((await raw.get(`${ns.prefix}started:${token}`))!) as Where;
      w.proc.kill('SIGQUIT');
      expect(await w.exited).toBe(0);
      expect(alive(where.pid)).toBe(false);
    });

    it('recycles a child after --max-tasks-per-child tasks', async () => {
      const q = ns.name(`${kind}-recycle`);
      const w = await startCli(`recycle-${kind}`, q, ['-c', '1', '--max-tasks-per-child', '2']);
      try {
        const wheres: Where[] = [];
        for (let i = 0; i < 3; i++) wheres.push(await (await send<Where>('pool.where', q)).get({ timeout: 10_000 }));
        expect(key(wheres[1]!)).toBe(key(wheres[0]!));
        expect(key(wheres[2]!)).not.toBe(key(wheres[1]!));
        await w.logged('it ran 2 tasks (maxTasksPerChild)');
      } finally {
        w.proc.kill('SIGTERM');
        await w.exited;
      }
    });

    it('recycles a child whose memory passed --max-memory-per-child after a task', async () => {
      const q = ns.name(`${kind}-memory`);
      // 120 MiB: above a fresh child (its thread heap, or its process RSS) and below one holding 200 MiB more.
      const w = await startCli(`memory-${kind}`, q, ['-c', '1', '--max-memory-per-child', String(120 * 1024)]);
      try {
        const first = await (await send<Where>('pool.where', q)).get({ timeout: 10_000 });
        const second = await (await send<Where>('pool.where', q)).get({ timeout: 10_000 });
        expect(key(second)).toBe(key(first));
        const hog = await (await send<Where>('pool.hog', q, [200])).get({ timeout: 20_000 });
        expect(key(hog)).toBe(key(first));
        const after = await (await send<Where>('pool.where', q)).get({ timeout: 10_000 });
        expect(key(after)).not.toBe(key(first));
        await w.logged(/over maxMemoryPerChild \(122880 KiB\)/);
      } finally {
        w.proc.kill('SIGTERM');
        await w.exited;
      }
    });

    it('a task missing from the app the children build fails with NotRegistered; the child keeps serving', async () => {
      const q = ns.name(`${kind}-bare`);
      const name = `bare-${kind}@${hostname()}`;
      const w = await launch([PROGRAMMATIC], 'ready', { POOL_APP_EXPORT: 'bare', POOL_WORKER_OPTIONS: JSON.stringify({ pool: kind, queues: [q], hostname: name, concurrency: 1 }) });
      try {
        for (let i = 0; i < 2; i++) expect((await failureOf(await send('pool.where', q))).excType).toBe('NotRegistered');
      } finally {
        w.proc.kill('SIGTERM');
        await w.exited;
      }
    });

    it('a worker whose children cannot build the app fails to start and leaves nothing running', async () => {
      const mark = `${ns.prefix}${kind}-failed-start`;
      const proc = spawn(process.execPath, [PROGRAMMATIC], {
        cwd: ROOT,
        env: { ...process.env, POOL_REDIS_URL: ns.redisUrl, POOL_PREFIX: ns.prefix, POOL_MARK: mark, POOL_APP_EXPORT: 'missing', POOL_WORKER_OPTIONS: JSON.stringify({ pool: kind, queues: [ns.name('never')], concurrency: 2 }) },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      spawned.push(proc);
      let err = '';
      proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const code = await new Promise<number | null>((r) => proc.once('exit', r));
      expect(code).toBe(1);
      expect(err).toContain(`A ${kind} pool child could not build the app from its appSource`);
      expect(err).toContain('has no export "missing"');
      expect(childrenMarked(`POOL_MARK=${mark}`)).toEqual([]);
    });

    it('autoscale grows under load and shrinks when idle; retired children close through the AppSource factory; SIGKILL leaves no orphans', async () => {
      const q = ns.name(`${kind}-autoscale`);
      const name = `scale-${kind}@${hostname()}`;
      const options = { pool: kind, queues: [q], hostname: name, autoscale: { max: 3, min: 1, keepalive: 1 } };
      const mark = `${ns.prefix}${kind}-autoscale`;
      const w = await launch([PROGRAMMATIC], 'ready', { POOL_MARK: mark, POOL_WORKER_OPTIONS: JSON.stringify(options) });
      // processes: the child processes are found by their environment (the check the failed start relies on)
      if (!isThreads) expect(childrenMarked(`POOL_MARK=${mark}`)).toHaveLength(1);
      const size = async (): Promise<number> => (await children(name)).length;
      expect(await size()).toBe(1);
      const results = await Promise.all(Array.from({ length: 6 }, () => send<Where>('pool.where', q, [1500])));
      await waitFor(async () => (await size()) === 3, 10_000, 'the pool grown to 3', 100);
      const wheres = await Promise.all(results.map((r) => r.get({ timeout: 20_000 })));
      // Children added while the first was busy took some of the tasks (how many each is up to timing).
      expect(new Set(wheres.map(key)).size).toBeGreaterThanOrEqual(2);
      await waitFor(async () => (await size()) === 1, 10_000, 'the pool shrunk to 1', 100);
      await waitFor(async () => (await raw.llen(`${ns.prefix}closed`)) >= 2, 5000, 'retired children closed');
      const closed = await raw.lrange(`${ns.prefix}closed`, 0, -1);
      // The two retired children each ran the factory's close(); the one left is not among them.
      const [remaining] = await children(name);
      expect(closed).toHaveLength(2);
      for (const entry of closed) {
        const [tag, pid, threadId] = entry.split(':');
        expect(tag).toBe('factory');
        expect(Number(isThreads ? threadId : pid)).not.toBe(remaining);
      }
      w.proc.kill('SIGKILL');
      await w.exited;
      if (!isThreads) {
        await waitFor(() => wheres.every((x) => !alive(x.pid)), 5000, 'no child left after the worker was killed');
        expect(childrenMarked(`POOL_MARK=${mark}`)).toEqual([]);
      }
    });
  });
}
