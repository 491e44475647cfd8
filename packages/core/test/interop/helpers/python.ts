/**
 * Python Celery for the worker interop tests: runs `py/client.py` (a Python client that sends tasks
 * and reads results, printing JSON) and a real `celery worker` process (py/celery_tasks.py) on a
 * queue of the test's choosing, plus the cleanup of exactly the Redis keys a test run created.
 *
 * Uses Debian's /usr/bin/python3 (python3-celery 5.2.6, python3-redis, python3-msgpack), not whatever
 * python3 is first on PATH; CELERIAC_TEST_PYTHON overrides it.
 *
 * @example
 * await assertPythonCelery();
 * const config = { brokerUrl: 'redis://127.0.0.1:6379/11', queue: uniqueQueue() };
 * const py = new PythonClient(config);
 * const report = await py.send({ name: 'interop.add', args: [2, 3], wait: 20 }); // report.result === 5
 * const worker = await startPythonWorker(config);
 * await worker.stop();
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { Redis } from 'ioredis';
import { parseJson, stringifyJson } from '../../../src/protocol/serializers';

/** Debian's interpreter, where python3-celery lives. */
export const PYTHON = process.env.CELERIAC_TEST_PYTHON ?? '/usr/bin/python3';
/** Folder of celery_tasks.py and client.py. */
export const PY_DIR = path.join(__dirname, '..', 'py');

/** Kombu's priority-list separator (`Q\x06\x163` is queue Q's bucket for priorities 3-5). */
const SEP = '\x06\x16';

export interface InteropConfig {
  /** Broker URL shared by both sides, e.g. redis://127.0.0.1:6379/11. */
  brokerUrl: string;
  /** Result backend URL. @defaultValue brokerUrl */
  backendUrl?: string;
  /** The queue of this test file (the Python app's task_default_queue). */
  queue: string;
  /** Redis list `interop.record` appends to. @defaultValue `<queue>:record` */
  recordKey?: string;
  /** The Python app's task_queue_max_priority (RabbitMQ x-max-priority). */
  maxPriority?: number;
}

/** A queue name unique to this run, e.g. `interop-3f9a1c2e`. */
export function uniqueQueue(prefix = 'interop'): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/** The Redis list interop.record appends to. */
export function recordKey(config: InteropConfig): string {
  return config.recordKey ?? `${config.queue}:record`;
}

/** Environment of every Python process: no inherited virtualenv/PYTHONPATH, our folder first. */
export function pythonEnv(config: InteropConfig): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV', 'PYTHONSTARTUP']) delete env[name];
  return {
    ...env,
    PYTHONPATH: PY_DIR,
    PYTHONUNBUFFERED: '1',
    PYTHONDONTWRITEBYTECODE: '1',
    CELERIAC_INTEROP_BROKER: config.brokerUrl,
    CELERIAC_INTEROP_BACKEND: config.backendUrl ?? config.brokerUrl,
    CELERIAC_INTEROP_QUEUE: config.queue,
    CELERIAC_INTEROP_RECORD_KEY: recordKey(config),
    ...(config.maxPriority !== undefined ? { CELERIAC_INTEROP_MAX_PRIORITY: String(config.maxPriority) } : {}),
  };
}

interface ExecResult {
  stdout: string;
  stderr: string;
}

function exec(args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, args, { cwd: PY_DIR, env, timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const e = err as Error & { code?: unknown; killed?: boolean };
        reject(new Error(`${PYTHON} ${args.slice(0, 2).join(' ')} failed (${e.killed ? `killed after ${timeoutMs} ms` : `exit ${String(e.code)}`}): ${e.message}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`));
      } else resolve({ stdout, stderr });
    });
  });
}

/**
 * Fails with a clear message when Debian's Python Celery is missing (CI installs python3-celery,
 * python3-redis and python3-msgpack with apt-get); returns Celery's version.
 */
export async function assertPythonCelery(): Promise<string> {
  try {
    const { stdout } = await exec(['-c', 'import celery, kombu, redis, msgpack; print(celery.__version__)'], { ...process.env, PYTHONPATH: '' }, 30_000);
    return stdout.trim();
  } catch (err) {
    throw new Error(
      `The interop tests need Python Celery 5.2 at ${PYTHON} (Debian: apt-get install python3-celery python3-redis python3-msgpack; ` +
        `or set CELERIAC_TEST_PYTHON). Checking it failed: ${(err as Error).message}`,
    );
  }
}

/** What client.py reports about one task (see its docstring). */
export interface PyReport {
  id: string;
  state: string;
  /** The value for non-exception states (integers beyond 2^53 arrive as BigInt). */
  result: unknown;
  /** Python type name of the result (`int`, `dict`, or the exception class). */
  result_type: string;
  result_repr: string;
  /** For FAILURE/REVOKED/RETRY: the class Python rebuilt, its module and args. */
  exc_type: string | null;
  exc_module: string | null;
  exc_message: unknown[] | null;
  traceback: string | null;
  /** Finish time as Celery parsed the stored date_done: isoformat of a naive UTC datetime. */
  date_done: string | null;
  /** States seen while waiting (pub/sub messages for this id), e.g. ['RETRY', 'SUCCESS']. */
  states: string[];
  timed_out: boolean;
  /** Unix seconds (float) just before the send; null for `result`. */
  sent_at: number | null;
  /** Unix seconds (float) when the report was made. */
  done_at: number;
}

export interface SendSpec {
  /** Task name, e.g. 'interop.add'. */
  name: string;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  /** apply_async options (snake_case, as Python takes them): countdown, expires, priority, serializer... */
  options?: Record<string, unknown>;
  /** Seconds to wait for the result; omit to only send. */
  wait?: number;
}

/** Drives py/client.py. Every id it sends is kept in `ids` for cleanup. */
export class PythonClient {
  /** Task ids sent through this client. */
  readonly ids = new Set<string>();

  constructor(readonly config: InteropConfig) {}

  /** Sends one task (and waits for its result when `wait` is set). */
  async send(spec: SendSpec): Promise<PyReport> {
    const [report] = await this.sendMany([spec]);
    return report!;
  }

  /** Sends the tasks in order from one Python process, then waits for those with `wait`, in order. */
  async sendMany(specs: readonly SendSpec[]): Promise<PyReport[]> {
    const prepared = specs.map((s) => {
      const taskId = (s.options?.task_id as string | undefined) ?? randomUUID();
      this.ids.add(taskId);
      return { name: s.name, args: s.args ?? [], kwargs: s.kwargs ?? {}, options: { ...s.options, task_id: taskId }, wait: s.wait ?? null };
    });
    const waits = prepared.reduce((sum, s) => sum + (s.wait ?? 0), 0);
    const { stdout } = await exec(['client.py', 'send', stringifyJson(prepared)], pythonEnv(this.config), 30_000 + waits * 1000);
    return parseJson(stdout) as PyReport[];
  }

  /** Reads a task's result as Python sees it, waiting up to `waitSeconds` when given. */
  async result(id: string, waitSeconds?: number): Promise<PyReport> {
    const args = ['client.py', 'result', id, ...(waitSeconds === undefined ? [] : [String(waitSeconds)])];
    const { stdout } = await exec(args, pythonEnv(this.config), 30_000 + (waitSeconds ?? 0) * 1000);
    return parseJson(stdout) as PyReport;
  }
}

export interface PythonWorker {
  /** `py-<random>@<host>` as given to -n (with %h unexpanded). */
  readonly nodename: string;
  readonly pid: number;
  /** Everything the worker printed so far (stdout and stderr interleaved). */
  output(): string;
  /** Waits until the output matches `pattern`. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<void>;
  /** Warm shutdown (SIGTERM), waiting for the process to exit; SIGKILLs its process group after `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // detached: the worker leads a group that holds its pool processes
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

/**
 * Starts `celery -A celery_tasks worker -l INFO -c 1 -Q <queue> -n py-<rand>@%h --without-mingle
 * --without-gossip --without-heartbeat` (`heartbeat: true` drops the last; `taskEvents` adds -E) and resolves once it logged "ready". Rejects (and kills it)
 * if it exits first or is not ready within `readyTimeoutMs`.
 */
export async function startPythonWorker(config: InteropConfig, options: { readyTimeoutMs?: number; taskEvents?: boolean; heartbeat?: boolean } = {}): Promise<PythonWorker> {
  const nodename = `py-${randomBytes(4).toString('hex')}@%h`;
  const child = spawn(
    PYTHON,
    [
      ...['-m', 'celery', '-A', 'celery_tasks', 'worker', '-l', 'INFO', '-c', '1', '-Q', config.queue, '-n', nodename, '--without-mingle', '--without-gossip'],
      ...(options.heartbeat ? [] : ['--without-heartbeat']),
      ...(options.taskEvents ? ['-E'] : []),
    ],
    { cwd: PY_DIR, env: pythonEnv(config), detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Last resort if a test file dies without its afterAll: never leave a worker consuming.
    process.once('exit', () => {
      for (const c of running) killGroup(c, 'SIGKILL');
    });
  }
  let out = '';
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    out += chunk.toString('utf8');
    if (out.length > 2_000_000) out = out.slice(-1_000_000);
    for (const l of [...listeners]) l();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      running.delete(child);
      for (const l of [...listeners]) l();
      resolve();
    });
  });
  child.once('error', (err) => {
    out += `\n[spawn error] ${err.message}\n`;
    for (const l of [...listeners]) l();
  });

  const waitForOutput = (pattern: RegExp, timeoutMs: number): Promise<void> =>
    new Promise((resolve, reject) => {
      const done = (err?: Error): void => {
        clearTimeout(timer);
        listeners.delete(check);
        if (err) reject(err);
        else resolve();
      };
      const check = (): void => {
        if (pattern.test(out)) done();
        else if (child.exitCode !== null || child.signalCode !== null || out.includes('[spawn error]')) {
          done(new Error(`Python worker ${nodename} exited (${child.exitCode ?? child.signalCode}) before printing ${pattern}. Output:\n${out.slice(-8000)}`));
        }
      };
      const timer = setTimeout(() => done(new Error(`Python worker ${nodename}: no ${pattern} within ${timeoutMs} ms. Output:\n${out.slice(-8000)}`)), timeoutMs);
      listeners.add(check);
      check();
    });

  const stop = async (timeoutMs = 15_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), timeoutMs)))]);
    clearTimeout(timer);
    if (timedOut) {
      killGroup(child, 'SIGKILL');
      await exited;
    }
  };

  try {
    await waitForOutput(/ ready\./, options.readyTimeoutMs ?? 30_000);
  } catch (err) {
    killGroup(child, 'SIGKILL');
    await exited;
    throw err;
  }
  return { nodename, pid: child.pid!, output: () => out, waitForOutput, stop };
}

/** Messages of `queues` still waiting (all four priority lists) or reserved but unacknowledged (`unacked`). */
export async function leftoverMessages(url: string, queues: readonly string[]): Promise<{ waiting: number; unacked: number }> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    let waiting = 0;
    for (const q of queues) for (const key of [q, `${q}${SEP}3`, `${q}${SEP}6`, `${q}${SEP}9`]) waiting += await client.llen(key);
    let unacked = 0;
    for (const value of Object.values(await client.hgetall('unacked'))) {
      try {
        const [, , routingKey] = JSON.parse(value) as [unknown, string, string];
        if (queues.includes(routingKey)) unacked++;
      } catch {
        // not a Kombu entry: not ours
      }
    }
    return { waiting, unacked };
  } finally {
    client.disconnect();
  }
}

export interface CleanupSpec {
  queues: readonly string[];
  taskIds: Iterable<string>;
  /** Other keys the run created (record lists...). */
  keys?: readonly string[];
}

/**
 * Deletes only what a run created in a shared database: result keys of its ids, its queue lists (all
 * four priority buckets), its extra keys, its members of `_kombu.binding.*` sets and its entries in
 * `unacked`/`unacked_index`. Never FLUSHDB. Returns how many keys/members/entries went.
 */
export async function cleanupRedis(url: string, spec: CleanupSpec): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    await client.connect();
    const queues = new Set(spec.queues);
    const ids = new Set(spec.taskIds);
    const keys = [...[...ids].map((id) => `celery-task-meta-${id}`), ...[...queues].flatMap((q) => [q, `${q}${SEP}3`, `${q}${SEP}6`, `${q}${SEP}9`]), ...(spec.keys ?? [])];
    for (let i = 0; i < keys.length; i += 500) removed += await client.del(...keys.slice(i, i + 500));

    let cursor = '0';
    do {
      const [next, found] = await client.scan(cursor, 'MATCH', '_kombu.binding.*', 'COUNT', 1000);
      cursor = next;
      for (const key of found) {
        const members = await client.smembers(key);
        const ours = members.filter((m) => queues.has(m.split(SEP).pop() ?? ''));
        if (ours.length) removed += await client.srem(key, ...ours);
      }
    } while (cursor !== '0');

    cursor = '0';
    do {
      const [next, flat] = await client.hscan('unacked', cursor, 'COUNT', 1000);
      cursor = next;
      for (let i = 0; i < flat.length; i += 2) {
        const tag = flat[i]!;
        let mine = false;
        try {
          const [envelope, , routingKey] = JSON.parse(flat[i + 1]!) as [{ headers?: { id?: unknown } }, string, string];
          mine = queues.has(routingKey) || ids.has(String(envelope?.headers?.id));
        } catch {
          mine = false;
        }
        if (mine) {
          removed += await client.hdel('unacked', tag);
          await client.zrem('unacked_index', tag);
        }
      }
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
  return removed;
}
