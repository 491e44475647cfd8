// The `celeriac` bin end to end against a real Redis on 127.0.0.1:6379: each command runs as its
// own process from the build (packages/core/dist; `npm run build` runs before Jest in CI). Every key
// of this file, broker and results, sits under its own prefix (CELERIAC_BROKER_TRANSPORT_OPTIONS and
// CELERIAC_RESULT_BACKEND_TRANSPORT_OPTIONS); afterAll deletes only those (SCAN MATCH, never FLUSHALL).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { testNamespace } from '../helpers/namespace';
import { waitFor } from '../helpers/wait';

const ROOT = resolve(__dirname, '../../../..');
const MAIN = resolve(__dirname, '../../dist/cli/main.js');
const APP = join('packages', 'core', 'test', 'fixtures', 'cli', 'app.js');
const ns = testNamespace('cli');
const PREFIXED = JSON.stringify({ globalKeyprefix: ns.prefix });
const ENV: NodeJS.ProcessEnv = { ...process.env, CELERIAC_BROKER_TRANSPORT_OPTIONS: PREFIXED, CELERIAC_RESULT_BACKEND_TRANSPORT_OPTIONS: PREFIXED };
delete ENV.CELERIAC_APP;
const BACKENDS = ['-b', ns.redisUrl, '--result-backend', ns.redisUrl];

const queue = (name: string): string => `cli-${name}-${randomBytes(3).toString('hex')}`;

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A running `celeriac` process and what it printed so far. */
class CliProcess {
  stdout = '';
  stderr = '';
  code: number | null | undefined;
  readonly exited: Promise<number | null>;
  readonly proc: ChildProcess;

  constructor(args: string[], env: NodeJS.ProcessEnv = ENV) {
    this.proc = spawn(process.execPath, [MAIN, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc.stdout!.setEncoding('utf8').on('data', (d: string) => (this.stdout += d));
    this.proc.stderr!.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    this.exited = new Promise((res) => this.proc.on('close', (code) => res((this.code = code))));
  }

  /** Waits until `stream` matches; fails early, with what the process said, if it exits first. */
  async waitForOutput(stream: 'stdout' | 'stderr', pattern: string | RegExp, timeoutMs = 10_000): Promise<void> {
    const matches = (): boolean => (typeof pattern === 'string' ? this[stream].includes(pattern) : pattern.test(this[stream]));
    await waitFor(
      () => {
        if (matches()) return true;
        if (this.code !== undefined) throw new Error(`celeriac exited with ${this.code} before printing ${pattern}.\nstdout: ${this.stdout}\nstderr: ${this.stderr}`);
        return false;
      },
      timeoutMs,
      `${pattern} on ${stream}`,
    );
  }

  kill(): void {
    if (this.code === undefined) this.proc.kill('SIGKILL');
  }
}

const running: CliProcess[] = [];

async function cli(args: string[], env?: NodeJS.ProcessEnv): Promise<Ran> {
  const p = new CliProcess(args, env);
  running.push(p);
  const code = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}

/** Starts a worker and waits for its banner and for it to consume (its "ready." log line). */
async function startWorker(q: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<CliProcess> {
  const w = new CliProcess(['worker', '-A', APP, '-c', '2', '-Q', q, '-n', 'cli-int@%h', ...BACKENDS], { ...ENV, ...extraEnv });
  running.push(w);
  await w.waitForOutput('stdout', '[tasks]');
  await w.waitForOutput('stderr', /cli-int@\S+ ready\./);
  return w;
}

async function call(name: string, q: string, args: unknown[]): Promise<string> {
  const r = await cli(['call', name, '-A', APP, ...BACKENDS, '--queue', q, '--args', JSON.stringify(args)]);
  expect(r).toMatchObject({ code: 0, stderr: '' });
  expect(r.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
  return r.stdout.trim();
}

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error(`${MAIN} is missing: build first (npm run build, or npx tsc -b packages/core).`);
});

afterEach(() => {
  for (const p of running.splice(0)) p.kill();
});

afterAll(() => ns.cleanup());

describe('celeriac CLI on Redis', () => {
  it('worker prints its banner; call sends, result prints the value', async () => {
    const q = queue('add');
    const w = await startWorker(q);
    expect(w.stdout).toMatch(/^cli-int@\S+ v\d+\.\d+\.\d+ \(Node v\d+/);
    expect(w.stdout).toContain(`.> app:         cli-fixture (${APP}:app)`);
    expect(w.stdout).toContain(`.> transport:   ${ns.redisUrl}`);
    expect(w.stdout).toContain('.> concurrency: 2 (async)');
    expect(w.stdout).toContain(`.> ${q.padEnd(16)} exchange=${q}(direct) key=${q}`);
    expect(w.stdout).toContain('[tasks]\n  . cli.fail\n  . cli.sleep\n  . math.add\n');

    const id = await call('math.add', q, [2, 3]);
    expect(await cli(['result', id, '-A', APP, ...BACKENDS, '--timeout', '10000'])).toEqual({ code: 0, stdout: '5\n', stderr: '' });
  });

  it('result of a failed task: the error on stderr (with --traceback, the stack), exit 1', async () => {
    const q = queue('fail');
    await startWorker(q);
    const id = await call('cli.fail', q, ['bad card']);
    const r = await cli(['result', id, '-A', APP, ...BACKENDS, '--timeout', '10000', '--traceback']);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^ValueError: bad card\nRangeError: bad card\n\s+at /);
  });

  it('SIGTERM: warm shutdown lets the running task finish, then exit 0', async () => {
    const q = queue('warm');
    const w = await startWorker(q);
    const id = await call('cli.sleep', q, [1500]);
    await w.waitForOutput('stderr', `Task cli.sleep[${id}] received`);
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stderr).toContain('worker: Warm shutdown (MainProcess)');
    expect(w.stderr).toContain(`Task cli.sleep[${id}] succeeded`);
    expect(await cli(['result', id, '-A', APP, ...BACKENDS, '--timeout', '5000'])).toMatchObject({ code: 0, stdout: '1500\n' });
  });

  it('--health-port serves 200 while the worker consumes, and closes with it', async () => {
    const q = queue('health');
    const w = new CliProcess(['worker', '-A', APP, '-c', '1', '-Q', q, '-n', 'cli-health@%h', '--health-port', '0', '--health-host', '127.0.0.1', ...BACKENDS]);
    running.push(w);
    await w.waitForOutput('stdout', /health: http:\/\/127\.0\.0\.1:\d+\/health\n/);
    const url = /health: (\S+)\n/.exec(w.stdout)![1]!;
    await w.waitForOutput('stderr', /cli-health@\S+ ready\./);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ healthy: true, lifecycle: 'running', queues: [q] });
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    await expect(fetch(url)).rejects.toThrow();
  });

  it('--nest refuses -A, -b and --result-backend, and a file with nothing to boot (exit 2, the reason on stderr)', async () => {
    const clash = await cli(['worker', '--nest', 'sample-app/dist/app.module.js', '-A', APP, ...BACKENDS]);
    expect(clash.code).toBe(2);
    expect(clash.stderr).toBe('error: --nest cannot be combined with -A, -b, --result-backend: the Nest module configures the app (CeleriacModule.forRoot options, or its environment variables).\n');
    const notNest = await cli(['worker', '--nest', APP]);
    expect(notNest.code).toBe(2);
    expect(notNest.stderr).toMatch(/^error: --nest: .*app\.js exports no Nest module or bootstrap function to boot/);
  });

  it('a second SIGTERM is a cold shutdown: the running acksLate task goes back to its queue, exit 0', async () => {
    const q = queue('cold');
    const w = await startWorker(q, { CELERIAC_TASK_ACKS_LATE: 'true' });
    const id = await call('cli.sleep', q, [4000]);
    await w.waitForOutput('stderr', `Task cli.sleep[${id}] received`);
    w.proc.kill('SIGTERM');
    await w.waitForOutput('stderr', 'worker: Warm shutdown (MainProcess)');
    w.proc.kill('SIGTERM');
    expect(await w.exited).toBe(0);
    expect(w.stderr).toContain('worker: Cold shutdown (MainProcess)');
    expect(w.stderr).not.toContain(`Task cli.sleep[${id}] succeeded`);
    const purged = await cli(['purge', '-A', APP, ...BACKENDS, '-Q', q, '-f']);
    expect(purged).toMatchObject({ code: 0, stdout: `Purged 1 message from 1 known task queue: ${q} (1).\n` });
  });

  it('purge refuses without -f off a terminal, then counts what it removes per queue', async () => {
    const q1 = queue('purge1');
    const q2 = queue('purge2');
    for (let i = 0; i < 3; i++) await call('math.add', q1, [i, i]);
    await call('math.add', q2, [1, 1]);
    const refused = await cli(['purge', '-A', APP, ...BACKENDS, '-Q', `${q1},${q2}`]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`refusing to purge ${q1}, ${q2} without confirmation: stdin is not a terminal. Re-run with -f/--force.`);
    const r = await cli(['purge', '-A', APP, ...BACKENDS, '-Q', `${q1},${q2}`, '-f']);
    expect(r).toEqual({ code: 0, stdout: `Purged 4 messages from 2 known task queues: ${q1} (3), ${q2} (1).\n`, stderr: '' });
    expect((await cli(['purge', '-A', APP, ...BACKENDS, '-Q', q1, '-f'])).stdout).toBe(`No messages purged from 1 known task queue: ${q1}.\n`);
  });

  it('a worker that cannot reach its broker says which URL (password masked) and exits 1', async () => {
    const r = await cli(['worker', '-A', APP, '-b', 'redis://:hunter2@127.0.0.1:1/0', '-Q', queue('down')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('could not start (broker redis://:***@127.0.0.1:1/0)');
    expect(r.stderr).not.toContain('hunter2');
    expect(r.stdout).not.toContain('hunter2');
  });

  it('bad JSON in --args is a usage error naming the flag (exit 2)', async () => {
    const r = await cli(['call', 'math.add', '-A', APP, ...BACKENDS, '--args', '[2,']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("option '-a, --args <json>' argument '[2,' is invalid");
  });

  it('-A may come from CELERIAC_APP', async () => {
    const q = queue('env');
    const r = await cli(['call', 'math.add', ...BACKENDS, '--queue', q, '--args', '[1, 1]'], { ...ENV, CELERIAC_APP: `${APP}:app` });
    expect(r.code).toBe(0);
    expect((await cli(['purge', '-A', APP, ...BACKENDS, '-Q', q, '-f'])).stdout).toContain(`${q} (1)`);
  });
});
