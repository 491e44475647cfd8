/**
 * Pool plumbing that needs no thread or process: resizable slots, the autoscaler's decisions, pool
 * selection errors, errors crossing the child boundary, loading an AppSource, --autoscale parsing,
 * and autoscale on the async pool (a worker on the memory broker).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, MemoryBroker, MemoryKeyValueStore, TaskRevokedError, TimeLimitExceededError, Worker } from '../../src';
import { parseAutoscale } from '../../src/cli/commands/worker.command';
import type { CliContext } from '../../src/cli/load-app';
import { main } from '../../src/cli/main';
import { Executor } from '../../src/worker/executor';
import { loadAppSource } from '../../src/worker/pools/app-source';
import { Autoscaler } from '../../src/worker/pools/autoscaler';
import { fromWireError, fromWireOutcome, toWireError, toWireOutcome } from '../../src/worker/pools/child-protocol';
import { ChildPool, type ChildHandle } from '../../src/worker/pools/child-pool';
import type { FromChild, ToChild } from '../../src/worker/pools/child-protocol';
import { createPool } from '../../src/worker/pools/create-pool';
import { Slots } from '../../src/worker/slots';
import { memoryApp } from '../helpers/memory-app';
import { deferred, waitFor } from '../helpers/wait';

afterAll(() => {
  MemoryBroker.reset();
  MemoryKeyValueStore.reset();
});

describe('Slots', () => {
  it('grows: waiters start at once', async () => {
    const slots = new Slots(1);
    await slots.acquire();
    let started = 0;
    const waiting = [slots.acquire(), slots.acquire()].map((p) => p.then(() => started++));
    expect(slots.waiting).toBe(2);
    slots.resize(3);
    await Promise.all(waiting);
    expect(started).toBe(2);
    expect(slots.running).toBe(3);
  });

  it('shrinks: running tasks finish, no new one starts until under the size', async () => {
    const slots = new Slots(3);
    for (let i = 0; i < 3; i++) await slots.acquire();
    slots.resize(1);
    let got = false;
    void slots.acquire().then(() => (got = true));
    slots.release();
    slots.release();
    await Promise.resolve();
    expect(got).toBe(false);
    slots.release();
    await waitFor(() => got, 1000, 'the waiter to start');
    expect(slots.running).toBe(1);
  });

  it('cancelAll wakes waiters with false', async () => {
    const slots = new Slots(1);
    await slots.acquire();
    const waiter = slots.acquire();
    slots.cancelAll();
    await expect(waiter).resolves.toBe(false);
  });
});

describe('Autoscaler', () => {
  const make = (demand: { n: number }, sizes: number[]): Autoscaler => new Autoscaler({ max: 5, min: 2, keepalive: 10 }, () => demand.n, (s) => sizes.push(s), 0);

  it('starts at min, grows to the demand (capped at max) at once', () => {
    const demand = { n: 0 };
    const sizes: number[] = [];
    const scaler = make(demand, sizes);
    expect(scaler.size).toBe(2);
    demand.n = 4;
    expect(scaler.tick(100)).toBe(4);
    demand.n = 9;
    expect(scaler.tick(200)).toBe(5);
    expect(sizes).toEqual([4, 5]);
  });

  it('shrinks to the demand (not under min) only after keepalive seconds of low demand', () => {
    const demand = { n: 5 };
    const sizes: number[] = [];
    const scaler = make(demand, sizes);
    scaler.tick(1000);
    demand.n = 1;
    expect(scaler.tick(5000)).toBe(5);
    expect(scaler.tick(10_999)).toBe(5);
    expect(scaler.tick(11_001)).toBe(2);
    expect(sizes).toEqual([5, 2]);
  });

  it('a busy moment restarts the keepalive', () => {
    const demand = { n: 5 };
    const scaler = make(demand, []);
    scaler.tick(0);
    demand.n = 3;
    scaler.tick(8000);
    demand.n = 5;
    scaler.tick(9000);
    demand.n = 3;
    expect(scaler.tick(15_000)).toBe(5);
    expect(scaler.tick(19_001)).toBe(3);
  });

  it('rejects min < 1 and max < min', () => {
    expect(() => new Autoscaler({ max: 2, min: 0 }, () => 0, () => undefined)).toThrow(RangeError);
    expect(() => new Autoscaler({ max: 2, min: 3 }, () => 0, () => undefined)).toThrow(/max >= min >= 1/);
  });
});

describe('createPool', () => {
  const app = memoryApp();
  const executor = new Executor(app, 'test@host');
  afterAll(() => app.close());

  it.each(['threads', 'processes'] as const)('%s without appSource is a ConfigError', (kind) => {
    const make = (): unknown => createPool(app, executor, { kind, size: 2, hostname: 'h' });
    expect(make).toThrow(ConfigError);
    expect(make).toThrow(`pool '${kind}' needs appSource: a module each ${kind === 'threads' ? 'thread' : 'process'} imports to build the same app`);
  });

  it('rejects an unknown kind and a bad maxTasksPerChild', () => {
    expect(() => createPool(app, executor, { kind: 'prefork' as never, size: 1, hostname: 'h' })).toThrow(/Unknown pool 'prefork'/);
    expect(() => createPool(app, executor, { kind: 'async', size: 1, hostname: 'h', maxTasksPerChild: 0 })).toThrow(/maxTasksPerChild must be an integer >= 1/);
  });

  it('the Worker refuses -P threads without appSource', () => {
    expect(() => new Worker(app, { pool: 'threads' })).toThrow(/needs appSource/);
  });
});

describe('errors across the child boundary', () => {
  it('travel as plain objects and come back with their name, message and stack', () => {
    const wire = structuredClone(toWireError(new TimeLimitExceededError(3)));
    expect(wire).not.toBeInstanceOf(Error);
    expect(wire).toMatchObject({ name: 'TimeLimitExceededError', code: 'CELERIAC_TIME_LIMIT_EXCEEDED' });
    const back = fromWireError(wire);
    expect(back).toBeInstanceOf(Error);
    expect(back).toMatchObject({ name: 'TimeLimitExceededError', message: 'TimeLimitExceeded(3)', code: 'CELERIAC_TIME_LIMIT_EXCEEDED' });
    expect(back.stack).toContain('TimeLimitExceeded');
  });

  it('a REVOKED outcome gets its TaskRevokedError back; a thrown non-Error becomes a message', () => {
    const outcome = fromWireOutcome(structuredClone(toWireOutcome({ state: 'REVOKED', error: new TaskRevokedError('terminated'), runtimeMs: 5 })));
    expect(outcome.state).toBe('REVOKED');
    expect((outcome as { error: unknown }).error).toBeInstanceOf(TaskRevokedError);
    expect((outcome as { error: TaskRevokedError }).error.reason).toBe('terminated');
    expect(toWireError('plain')).toEqual({ name: 'Error', message: 'plain' });
  });
});

describe('loadAppSource', () => {
  const dir = mkdtempSync(join(tmpdir(), 'celeriac-app-source-'));
  const file = join(dir, 'source.js');
  writeFileSync(
    file,
    `const app = { conf: { imports: [] }, tasks: { get: () => undefined } };
     let closed = 0;
     module.exports = { app, closedCount: () => closed, build: async (tag) => ({ app, close: async () => { closed += tag; } }), nothing: 42 };`,
  );
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('takes an app export, or calls a factory with args and keeps its close', async () => {
    const plain = await loadAppSource({ module: file, export: 'app' });
    expect(plain.close).toBeUndefined();
    const built = await loadAppSource({ module: file, export: 'build', args: [2] });
    expect(built.app).toBe(plain.app);
    await built.close!();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    expect((require(file) as { closedCount: () => number }).closedCount()).toBe(2);
  });

  it('says what is wrong with a bad export', async () => {
    await expect(loadAppSource({ module: file, export: 'missing' })).rejects.toThrow(/has no export "missing"/);
    await expect(loadAppSource({ module: file, export: 'nothing' })).rejects.toThrow(/neither a Celeriac app nor \{ app, close\? \}/);
  });
});

describe('pool flags of celeriac worker', () => {
  async function run(args: string[]): Promise<{ code: number; stderr: string }> {
    let stderr = '';
    const ctx: CliContext = {
      env: {},
      cwd: __dirname,
      stdout: () => undefined,
      stderr: (t) => void (stderr += t),
      stdinIsTTY: false,
      prompt: async () => '',
      signals: { on: () => undefined, off: () => undefined },
      exit: () => undefined,
    };
    return { code: await main(args, ctx), stderr };
  }

  it('--autoscale parses max,min (min defaults to 1) and rejects the rest', () => {
    expect(parseAutoscale('10,3')).toEqual({ max: 10, min: 3 });
    expect(parseAutoscale('4')).toEqual({ max: 4, min: 1 });
    for (const bad of ['3,5', '0', 'a,b', '4,2,1', '4,0']) expect(() => parseAutoscale(bad)).toThrow(/max,min/);
  });

  it('bad -P, --autoscale, --max-tasks-per-child and --max-memory-per-child values are usage errors', async () => {
    expect(await run(['worker', '-P', 'prefork'])).toMatchObject({ code: 2, stderr: expect.stringContaining("option '-P, --pool <kind>' argument 'prefork' is invalid. Expected one of async, threads, processes.") });
    expect(await run(['worker', '--autoscale', '2,5'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected max,min') });
    expect(await run(['worker', '--max-tasks-per-child', '0'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected an integer >= 1') });
    expect(await run(['worker', '--max-memory-per-child', 'lots'])).toMatchObject({ code: 2, stderr: expect.stringContaining('Expected an integer >= 1') });
  });
});

describe('autoscale on the async pool', () => {
  it('grows the slots while tasks wait and shrinks them after the keepalive', async () => {
    const app = memoryApp();
    const gate = deferred();
    const wait = app.task('scale.wait', async () => gate.promise);
    const worker = new Worker(app, { autoscale: { max: 3, min: 1, keepalive: 0.2 }, remoteControl: false });
    try {
      await worker.start();
      expect(worker.concurrency).toBe(3);
      expect(worker.poolStats()['max-concurrency']).toBe(1);
      const results = await Promise.all(Array.from({ length: 5 }, () => wait.delay()));
      await waitFor(() => worker.active === 1, 2000, 'the first task running');
      await waitFor(() => worker.active === 3, 3000, 'the slots grown to 3');
      expect(worker.poolStats()['max-concurrency']).toBe(3);
      gate.resolve();
      await Promise.all(results.map((r) => r.get({ timeout: 5000 })));
      await waitFor(() => worker.poolStats()['max-concurrency'] === 1, 4000, 'the slots shrunk to 1');
    } finally {
      await worker.close();
      await app.close();
    }
  });
});

/** A child that answers like pool-child.js, in this process: builds its app ('ok') or cannot ('fail'). */
class FakeChild implements ChildHandle {
  private static next = 1;
  readonly id = FakeChild.next++;
  private onMsg: (m: FromChild) => void = () => undefined;
  private onGone: (exit: string) => void = () => undefined;
  private dead = false;
  constructor(private readonly mode: 'ok' | 'fail') {}
  send(message: ToChild): void {
    queueMicrotask(() => {
      if (message.type === 'init') this.onMsg(this.mode === 'ok' ? { type: 'ready' } : { type: 'init-failed', error: { name: 'Error', message: 'no app today' } });
      else if (message.type === 'close') this.die('exitcode 0');
    });
  }
  kill(): void {
    queueMicrotask(() => this.die('signal 9 (SIGKILL)'));
  }
  onMessage(listener: (m: FromChild) => void): void {
    this.onMsg = listener;
  }
  onExit(listener: (exit: string) => void): void {
    this.onGone = listener;
  }
  die(exit: string): void {
    if (this.dead) return;
    this.dead = true;
    this.onGone(exit);
  }
}

describe('ChildPool replacing children', () => {
  it('retries a replacement that cannot build its app after a delay, not in a tight loop', async () => {
    const app = memoryApp();
    let mode: 'ok' | 'fail' = 'ok';
    const spawned: FakeChild[] = [];
    const pool = new ChildPool('processes', () => spawned[spawned.push(new FakeChild(mode)) - 1]!, { appSource: { module: 'x' }, size: 1, hostname: 'h' }, { app, executor: new Executor(app, 'h'), hostname: 'h' });
    try {
      await pool.start();
      expect(spawned).toHaveLength(1);
      mode = 'fail';
      spawned[0]!.die('exitcode 1'); // an idle child crashes
      await waitFor(() => spawned.length === 2, 1000, 'a first replacement');
      await new Promise((r) => setTimeout(r, 1500)); // how many tries in 1.5 s: one a second
      expect(spawned.length).toBeLessThanOrEqual(4);
      mode = 'ok';
      await waitFor(() => pool.stats().processes instanceof Array && (pool.stats().processes as number[]).length === 1 && spawned.length >= 3, 3000, 'a working replacement');
    } finally {
      await pool.close({ graceful: false });
      await app.close();
    }
  });

  it('a failed start kills the children that did start', async () => {
    const app = memoryApp();
    const spawned: FakeChild[] = [];
    let n = 0;
    const pool = new ChildPool('threads', () => spawned[spawned.push(new FakeChild(n++ === 1 ? 'fail' : 'ok')) - 1]!, { appSource: { module: 'x' }, size: 3, hostname: 'h' }, { app, executor: new Executor(app, 'h'), hostname: 'h' });
    await expect(pool.start()).rejects.toThrow('A threads pool child could not build the app from its appSource: no app today');
    expect(spawned).toHaveLength(3);
    expect(pool.stats().processes).toEqual([]);
    await app.close();
  });
});
