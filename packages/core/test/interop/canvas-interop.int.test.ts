// The canvas (chain, group, chord, link, link_error) across runtimes, over real Redis, with Celery 5.2.6
// (Debian's /usr/bin/python3; app py/canvas_tasks.py, client py/canvas_client.py):
//   1. Celery's own canvas, built and read back by a Python client, run by our Worker;
//   2. our canvas, built and read back by our client, run by a real `celery worker`;
//   3. mixed workflows: `node.*` tasks exist only in Node (queue A, our Worker), `py.*` only in Python
//      (queue B, a Celery worker); each worker consumes only its own queue, so every step that crosses
//      over was sent by the other runtime (chain steps, chord joins and bodies), started once from
//      each client.
//
// Setup: Redis DB 10 (broker and results) belongs to this file alone (Celery 5.2.6's result backend has
// no key prefix). Every queue is `canvas-<random>-<role>` per run, every task id fresh. Workers: one
// of ours on the queue of part 1 and one on queue A; one Celery worker (prefork, -c 4) on the queue of
// part 2 and one on queue B, started together in beforeAll, stopped with SIGTERM in afterAll (SIGKILL
// if they do not exit). Every task of both sides appends a JSON record of its request (id, group,
// parent, root, who ran it) to the run's record list: the tests read the ids on the wire from it.
// Cleanup deletes only what this run created: result keys of every id the clients made or the record
// list saw, the chord keys `celery-taskset-meta-<group>` (+ `.j`, `.t`, `.s`) of every group id, its
// queue lists, its record list, its `_kombu.binding.*` members (its queues', and its workers' pidbox
// bindings) and `unacked` entries; never FLUSHDB.
// afterAll then checks that none of it is left (another run of this file may share DB 10 meanwhile:
// only keys and binding members provably this run's are looked at).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import {
  Celeriac,
  GroupResult,
  RemoteTaskError,
  Worker,
  chain,
  chord,
  createLogger,
  group,
  parseJson,
  type AsyncResult,
  type TaskContext,
} from '../../src/index';
import { PY_DIR, PYTHON, assertPythonCelery, cleanupRedis, leftoverMessages, pythonEnv, uniqueQueue, type InteropConfig } from './helpers/python';

const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_CANVAS_REDIS_URL ?? 'redis://127.0.0.1:6379/10';
const WAIT_S = 20; // seconds a get() may wait, on either side
const TIMEOUT = WAIT_S * 1000;
const TEST_TIMEOUT = 60_000;

const run = uniqueQueue('canvas');
/** Part 1: Python client -> our worker. */
const nodeWorkerQueue = `${run}-nodeworker`;
/** Part 2: our client -> Celery worker. */
const pyWorkerQueue = `${run}-pyworker`;
/** Part 3: `node.*` tasks (our worker) and `py.*` tasks (Celery worker). */
const nodeQueue = `${run}-node`;
const pyQueue = `${run}-py`;
/** Default queue of the mixed apps: nothing consumes it, so a misrouted step stays there (and fails the leftover check). */
const unroutedQueue = `${run}-unrouted`;
const QUEUES = [nodeWorkerQueue, pyWorkerQueue, nodeQueue, pyQueue, unroutedQueue];
const records = `${run}:records`;

const redis = new Redis(REDIS_URL, { lazyConnect: true });
/** Every task id and group id this run made (cleanup). */
const ids = new Set<string>();
const groups = new Set<string>();

// ---------------------------------------------------------------------------------------------------
// What each task records about its request
// ---------------------------------------------------------------------------------------------------

interface TaskRecord {
  by: 'node' | 'py';
  id: string;
  name: string;
  group: string | null;
  parent: string | null;
  root: string | null;
}

async function recordRequest(ctx: TaskContext): Promise<void> {
  const r = ctx.request;
  await redis.rpush(records, JSON.stringify({ by: 'node', id: r.id, name: r.name, group: r.groupId, parent: r.parentId, root: r.rootId }));
}

async function readRecords(): Promise<TaskRecord[]> {
  return (await redis.lrange(records, 0, -1)).map((line) => JSON.parse(line) as TaskRecord);
}

/** The record of task `id`, waiting for it (a task records itself before it returns, so it is there once its result is). */
async function recordOf(id: string): Promise<TaskRecord> {
  let found: TaskRecord | undefined;
  await waitUntil(async () => (found = (await readRecords()).find((r) => r.id === id)) !== undefined, `the record of task ${id}`);
  return found!;
}

/** Polls `predicate` every 25 ms until it holds; fails after `timeoutMs`. */
async function waitUntil(predicate: () => Promise<boolean>, what: string, timeoutMs = TIMEOUT): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const chordKeys = (groupId: string): string[] => ['', '.j', '.t', '.s'].map((suffix) => `celery-taskset-meta-${groupId}${suffix}`);

/** Waits until the chord join keys of `groupId` are gone (whoever completes a chord deletes .j, .t and .s). */
async function expectChordKeysDeleted(groupId: string): Promise<void> {
  const [, j, t, s] = chordKeys(groupId);
  await waitUntil(async () => (await redis.exists(j!, t!, s!)) === 0, `DEL of the join keys of chord ${groupId}`);
}

/** How many results the chord join of `groupId` holds (a sorted set per celery-wire.md §5.4; a list when unordered). */
async function joined(groupId: string): Promise<number> {
  const key = `celery-taskset-meta-${groupId}.j`;
  const type = await redis.type(key);
  if (type === 'zset') return redis.zcard(key);
  if (type === 'list') return redis.llen(key);
  return 0;
}

/** Remembers the ids of a result, its parents and a group's members (cleanup). */
function track(result: AsyncResult<unknown> | undefined): void {
  for (let r = result; r; r = r.parent) {
    if (r instanceof GroupResult) {
      groups.add(r.id);
      for (const member of r.results) track(member);
    } else ids.add(r.id);
  }
}

// ---------------------------------------------------------------------------------------------------
// Node apps
// ---------------------------------------------------------------------------------------------------

function nodeApp(defaultQueue: string, extra: Partial<ConstructorParameters<typeof Celeriac>[0]> = {}): Celeriac {
  return new Celeriac({
    brokerUrl: REDIS_URL,
    resultBackend: REDIS_URL,
    // As Celery names the exchange and routing key of task_default_queue after the queue.
    taskDefaultQueue: defaultQueue,
    taskDefaultExchange: defaultQueue,
    taskDefaultRoutingKey: defaultQueue,
    logger: createLogger('silent'),
    ...extra,
  });
}

/** Part 1: the tasks of py/canvas_tasks.py under the same names, run by our worker. */
const workerApp = nodeApp(nodeWorkerQueue);
workerApp.task('canvas.add', async function (this: TaskContext, x: number, y: number) {
  await recordRequest(this);
  return x + y;
});
workerApp.task('canvas.mul', async function (this: TaskContext, x: number, y: number) {
  await recordRequest(this);
  return x * y;
});
workerApp.task('canvas.xsum', async function (this: TaskContext, values: number[]) {
  await recordRequest(this);
  return values.reduce((a, b) => a + b, 0);
});
workerApp.task('canvas.fail', async function (this: TaskContext, msg: string) {
  await recordRequest(this);
  throw new RangeError(msg); // stored as Python's ValueError
});
workerApp.task('canvas.record_error', async function (this: TaskContext, failedId: string) {
  // One parameter: an old-style errback, sent as a message with the failed task's id.
  await recordRequest(this);
  return `handled:${failedId}`;
});

/** Part 2: a client only; the tasks run in Python. */
const clientApp = nodeApp(pyWorkerQueue);
const sig = (name: string, ...args: unknown[]) => clientApp.signature(name, args);

/** Part 3: routes `node.*` to queue A and `py.*` to queue B; defines the Node half. */
const mixedApp = nodeApp(unroutedQueue, { taskRoutes: { 'node.*': { queue: nodeQueue }, 'py.*': { queue: pyQueue } } });
mixedApp.task('node.step', async function (this: TaskContext, trail: string[], tag: string) {
  await recordRequest(this);
  return [...trail, `node:${tag}`];
});
mixedApp.task('node.last', async function (this: TaskContext, trail: string[], tag: string, others: number) {
  // Returns only once the `others` other header members joined the chord: Node completes it.
  await recordRequest(this);
  const groupId = this.request.groupId;
  if (!groupId) throw new Error('node.last must run as a chord header member');
  await waitUntil(async () => (await joined(groupId)) >= others, `${others} other members of chord ${groupId}`);
  return [...trail, `node:${tag}`];
});
mixedApp.task('node.collect', async function (this: TaskContext, parts: string[][]) {
  await recordRequest(this);
  return { by: 'node', parts };
});
const mixedSig = (name: string, ...args: unknown[]) => mixedApp.signature(name, args);

// ---------------------------------------------------------------------------------------------------
// Python side
// ---------------------------------------------------------------------------------------------------

function pyEnv(defaultQueue: string, mixed: boolean): NodeJS.ProcessEnv {
  const config: InteropConfig = { brokerUrl: REDIS_URL, queue: defaultQueue, recordKey: records };
  return { ...pythonEnv(config), ...(mixed ? { CANVAS_NODE_QUEUE: nodeQueue, CANVAS_PY_QUEUE: pyQueue } : {}) };
}
/** Part 1's Python client sends to our worker's queue. */
const pyClientEnv = pyEnv(nodeWorkerQueue, false);
/** Part 3's Python client and worker route by task name, like mixedApp. */
const pyMixedEnv = pyEnv(unroutedQueue, true);

interface PyCanvasReport {
  ids: string[];
  groups: string[];
  client_error?: string;
  [key: string]: unknown;
}

/** Runs one scenario of py/canvas_client.py (Celery's canvas + AsyncResult.get in Python). */
function pyCanvas(env: NodeJS.ProcessEnv, scenario: string): Promise<PyCanvasReport> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['canvas_client.py', scenario, String(WAIT_S)], { cwd: PY_DIR, env, timeout: 4 * TIMEOUT + 30_000 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`canvas_client.py ${scenario} failed: ${err.message}\n--- stderr ---\n${stderr}\n--- stdout ---\n${stdout}`));
        return;
      }
      const report = parseJson(stdout) as PyCanvasReport;
      for (const id of report.ids) ids.add(id);
      for (const id of report.groups) groups.add(id);
      if (report.client_error) reject(new Error(`canvas_client.py ${scenario}: ${report.client_error}\n--- stderr ---\n${stderr}`));
      else resolve(report);
    });
  });
}

interface CeleryWorker {
  stop(): Promise<void>;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  // Last resort if the file dies without its afterAll: never leave a worker consuming.
  for (const c of children) if (c.pid !== undefined && c.exitCode === null) process.kill(-c.pid, 'SIGKILL');
});

/** `celery -A canvas_tasks worker -Q <queue> -c 4`, resolved once it logged "ready". */
async function startCeleryWorker(env: NodeJS.ProcessEnv, queue: string, role: string): Promise<CeleryWorker> {
  const nodename = `py-${role}-${run}@%h`;
  const args = ['-m', 'celery', '-A', 'canvas_tasks', 'worker', '-l', 'INFO', '-c', '4', '-Q', queue, '-n', nodename, '--without-mingle', '--without-gossip', '--without-heartbeat'];
  const child = spawn(PYTHON, args, { cwd: PY_DIR, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const signal = (s: NodeJS.Signals): void => {
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid, s); // detached: the worker leads a group holding its pool processes
    } catch {
      // already gone
    }
  };
  let out = '';
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Celery worker ${nodename} not ready within 45 s:\n${out.slice(-8000)}`)), 45_000);
      const onData = (chunk: Buffer): void => {
        out += chunk.toString('utf8');
        if (/ ready\./.test(out)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code, sig) => {
        clearTimeout(timer);
        reject(new Error(`Celery worker ${nodename} exited (${code ?? sig}) before it was ready:\n${out.slice(-8000)}`));
      });
    });
  } catch (err) {
    signal('SIGKILL');
    await exited;
    throw err;
  }
  return {
    async stop() {
      signal('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([exited.then(() => false), new Promise<boolean>((r) => (timer = setTimeout(() => r(true), 15_000)))]);
      clearTimeout(timer);
      if (timedOut) {
        signal('SIGKILL');
        await exited;
      }
      children.delete(child);
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Lifecycle
// ---------------------------------------------------------------------------------------------------

const nodeWorkers: Worker[] = [];
const celeryWorkers: CeleryWorker[] = [];

async function allKeys(): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    keys.push(...found);
  } while (cursor !== '0');
  return keys;
}

/**
 * Bindings named after this run's workers: their pidbox queues (`<nodename>.celery.pidbox` in
 * `_kombu.binding.celery.pidbox`), which cleanupRedis does not know by queue name. Every node name
 * holds the run's random id, so no other run's binding matches.
 */
async function removeRunBindings(): Promise<void> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', '_kombu.binding.*', 'COUNT', 1000);
    cursor = next;
    for (const key of found) {
      const ours = (await redis.smembers(key)).filter((member) => member.includes(run));
      if (ours.length) await redis.srem(key, ...ours);
    }
  } while (cursor !== '0');
}

beforeAll(async () => {
  await assertPythonCelery();
  await redis.connect();
  const starting = [startCeleryWorker(pyEnv(pyWorkerQueue, false), pyWorkerQueue, 'part2'), startCeleryWorker(pyMixedEnv, pyQueue, 'mixed')];
  for (const [app, queue] of [
    [workerApp, nodeWorkerQueue],
    [mixedApp, nodeQueue],
  ] as const) {
    const worker = new Worker(app, { queues: [queue], concurrency: 4, prefetchMultiplier: 1, hostname: `celeriac-canvas-${queue}@%h` });
    worker.on('task-received', ({ id }) => ids.add(id));
    nodeWorkers.push(worker);
    await worker.start();
  }
  const started = await Promise.allSettled(starting);
  for (const s of started) if (s.status === 'fulfilled') celeryWorkers.push(s.value);
  for (const s of started) if (s.status === 'rejected') throw s.reason;
}, 90_000);

afterAll(async () => {
  await Promise.all(celeryWorkers.map((w) => w.stop()));
  for (const w of nodeWorkers) await w.close();
  await Promise.all([workerApp.close(), clientApp.close(), mixedApp.close()]);
  for (const r of await readRecords()) {
    ids.add(r.id);
    if (r.group) groups.add(r.group);
  }
  await cleanupRedis(REDIS_URL, { queues: QUEUES, taskIds: ids, keys: [records, ...[...groups].flatMap(chordKeys)] });
  await removeRunBindings();
  // What is provably this run's: keys named after it, its result and chord keys, binding members.
  const mine = new Set([...[...ids].map((id) => `celery-task-meta-${id}`), ...[...groups].flatMap(chordKeys)]);
  const left = (await allKeys()).filter((k) => k.includes(run) || mine.has(k));
  for (const key of await allKeys()) {
    if (key.startsWith('_kombu.binding.') && (await redis.type(key)) === 'set') {
      for (const member of await redis.smembers(key)) if (member.includes(run)) left.push(`${key} member ${member}`);
    }
  }
  redis.disconnect();
  if (left.length) throw new Error(`Keys this run created are still in ${REDIS_URL}: ${left.join(', ')}`);
}, 90_000);

// ---------------------------------------------------------------------------------------------------
// 1. Celery's canvas from a Python client, run by our worker
// ---------------------------------------------------------------------------------------------------

describe('Python client (Celery canvas) -> our Worker', () => {
  test(
    'chain(add.s(1, 2), add.s(3), mul.s(10)): 60, parents 6 and 3, each step sent by us with parent_id/root_id',
    async () => {
      const report = await pyCanvas(pyClientEnv, 'chain');
      expect(report.value).toBe(60);
      expect(report.parents).toEqual([6, 3]);
      const [first, second, third] = report.steps as string[];
      const recs = await Promise.all([first!, second!, third!].map(recordOf));
      expect(recs.map((r) => [r.by, r.name])).toEqual([
        ['node', 'canvas.add'],
        ['node', 'canvas.add'],
        ['node', 'canvas.mul'],
      ]);
      expect(recs[1]).toMatchObject({ parent: first, root: first });
      expect(recs[2]).toMatchObject({ parent: second, root: first });
    },
    TEST_TIMEOUT,
  );

  test(
    'group(add.s(i, i) for i in range(5)): GroupResult.get() in Python reads [0, 2, 4, 6, 8]',
    async () => {
      const report = await pyCanvas(pyClientEnv, 'group');
      expect(report.value).toEqual([0, 2, 4, 6, 8]);
      expect(report.completed).toBe(5);
      const recs = await Promise.all((report.members as string[]).map(recordOf));
      for (const r of recs) expect(r).toMatchObject({ by: 'node', name: 'canvas.add', group: report.group_id });
    },
    TEST_TIMEOUT,
  );

  test(
    'chord([add.s(1, 1), add.s(2, 2)], xsum.s()): our worker joins the header and runs the body once: 6',
    async () => {
      const report = await pyCanvas(pyClientEnv, 'chord');
      expect(report.value).toBe(6);
      const groupId = report.group_id as string;
      expect(groupId).toEqual(expect.any(String));
      const members = await Promise.all((report.members as string[]).map(recordOf));
      for (const m of members) expect(m).toMatchObject({ by: 'node', group: groupId });
      const body = await recordOf(report.body_id as string);
      expect(body).toMatchObject({ by: 'node', name: 'canvas.xsum' });
      // The body is sent by the header task that completed the join.
      expect(report.members).toContain(body.parent);
      expect((await readRecords()).filter((r) => r.id === report.body_id)).toHaveLength(1);
      await expectChordKeysDeleted(groupId);
    },
    TEST_TIMEOUT,
  );

  test(
    "a failing header task: Python reads ChordError('Dependency <id> raised ValueError('boom')') on the body",
    async () => {
      const report = await pyCanvas(pyClientEnv, 'chord_fail');
      const failedId = (report.members as string[])[1]!;
      expect(report.state).toBe('FAILURE');
      expect(report.error).toEqual({ type: 'ChordError', module: 'celery.exceptions', args: [`Dependency ${failedId} raised ValueError('boom')`] });
      expect(await recordOf(failedId)).toMatchObject({ by: 'node', name: 'canvas.fail' });
      // The body never ran.
      expect((await readRecords()).some((r) => r.id === report.body_id)).toBe(false);
    },
    TEST_TIMEOUT,
  );

  test(
    'chain(add.s(1, 1), group(mul.s(2), mul.s(3)), xsum.s()): the group in the middle becomes a chord: 10',
    async () => {
      const report = await pyCanvas(pyClientEnv, 'chain_group');
      // Python froze the chord in the chain: the body (xsum) has its own id, the chord dict carries the
      // header's group id as its task_id (Celery's chord.freeze sets self.id = group id).
      const header = (await readRecords()).filter((r) => r.name === 'canvas.mul' && r.parent === report.first_id);
      expect(header).toHaveLength(2);
      const groupId = header[0]!.group;
      expect(groupId).toEqual(expect.any(String));
      let body: TaskRecord | undefined;
      // As Celery's worker does, the body keeps the parent the chord was applied with (the chain step).
      await waitUntil(async () => (body = (await readRecords()).find((r) => r.name === 'canvas.xsum' && r.parent === report.first_id)) !== undefined, 'the chord body');
      // The body must run under the id Python froze for it (the id it waits on), not the group's.
      expect({ bodyId: body!.id, value: report.value }).toEqual({ bodyId: report.body_id, value: 10 });
      expect(body!.id).not.toBe(groupId);
    },
    TEST_TIMEOUT,
  );

  test(
    'link and an old-style link_error from Python: our worker sends the callback and the errback (with the failed id)',
    async () => {
      const report = await pyCanvas(pyClientEnv, 'link');
      const callback = report.callback as { id: string; value: unknown };
      const errback = report.errback as { id: string; value: unknown };
      expect(report.value).toBe(5);
      expect(callback.value).toBe(50);
      expect(report.children).toEqual([callback.id]);
      expect(await recordOf(callback.id)).toMatchObject({ by: 'node', name: 'canvas.mul', parent: report.ok_id, root: report.ok_id });
      expect(report.failure).toEqual({ type: 'ValueError', module: 'builtins', args: ['boom'] });
      expect(errback.value).toBe(`handled:${report.bad_id as string}`);
      expect(await recordOf(errback.id)).toMatchObject({ by: 'node', name: 'canvas.record_error', parent: report.bad_id, root: report.bad_id });
    },
    TEST_TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------
// 2. Our canvas from our client, run by a Celery worker
// ---------------------------------------------------------------------------------------------------

describe('our client (canvas) -> Celery worker', () => {
  test(
    'chain(add(1, 2), add(3), mul(10)): 60; .parent leads to 6 and 3; Python saw parent_id/root_id',
    async () => {
      const r = await chain(sig('canvas.add', 1, 2), sig('canvas.add', 3), sig('canvas.mul', 10)).applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toBe(60);
      const second = r.parent!;
      const first = second.parent!;
      expect(await second.get({ timeout: TIMEOUT })).toBe(6);
      expect(await first.get({ timeout: TIMEOUT })).toBe(3);
      const recs = await Promise.all([first.id, second.id, r.id].map(recordOf));
      expect(recs.map((x) => [x.by, x.name])).toEqual([
        ['py', 'canvas.add'],
        ['py', 'canvas.add'],
        ['py', 'canvas.mul'],
      ]);
      expect(recs[0]).toMatchObject({ root: first.id });
      expect(recs[1]).toMatchObject({ parent: first.id, root: first.id });
      expect(recs[2]).toMatchObject({ parent: second.id, root: first.id });
    },
    TEST_TIMEOUT,
  );

  test(
    'group of five add(i, i): GroupResult.get() reads [0, 2, 4, 6, 8] in order',
    async () => {
      const r = await group([0, 1, 2, 3, 4].map((i) => sig('canvas.add', i, i))).applyAsync();
      track(r);
      expect(r).toBeInstanceOf(GroupResult);
      expect(await r.get({ timeout: TIMEOUT })).toEqual([0, 2, 4, 6, 8]);
      expect(await r.completedCount()).toBe(5);
      const recs = await Promise.all(r.results.map((m) => recordOf(m.id)));
      for (const rec of recs) expect(rec).toMatchObject({ by: 'py', name: 'canvas.add', group: r.id });
    },
    TEST_TIMEOUT,
  );

  test(
    'chord([add(1, 1), add(2, 2)], xsum()): the Celery worker joins our header (our .s key) and runs the body: 6',
    async () => {
      const r = await chord([sig('canvas.add', 1, 1), sig('canvas.add', 2, 2)], sig('canvas.xsum')).applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toBe(6);
      const header = r.parent as GroupResult;
      expect(header).toBeInstanceOf(GroupResult);
      const members = await Promise.all(header.results.map((m) => recordOf(m.id)));
      for (const m of members) expect(m).toMatchObject({ by: 'py', name: 'canvas.add', group: header.id });
      const body = await recordOf(r.id);
      expect(body).toMatchObject({ by: 'py', name: 'canvas.xsum' });
      expect(header.results.map((m) => m.id)).toContain(body.parent);
      await expectChordKeysDeleted(header.id);
    },
    TEST_TIMEOUT,
  );

  test(
    'a failing header task: the body fails with ChordError, read as RemoteTaskError',
    async () => {
      const r = await chord([sig('canvas.add', 1, 1), sig('canvas.fail', 'boom')], sig('canvas.xsum')).applyAsync();
      track(r);
      const failedId = (r.parent as GroupResult).results[1]!.id;
      const err = await r.get({ timeout: TIMEOUT }).then(
        () => new Error('the chord body succeeded'),
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RemoteTaskError);
      expect(err).toMatchObject({ excType: 'ChordError', excModule: 'celery.exceptions', excMessage: [`Dependency ${failedId} raised ValueError('boom')`] });
      expect(await r.state()).toBe('FAILURE');
      expect(await (r.parent as GroupResult).results[0]!.get({ timeout: TIMEOUT })).toBe(2);
      expect((await readRecords()).some((x) => x.id === r.id)).toBe(false);
    },
    TEST_TIMEOUT,
  );

  test(
    'chain(add(1, 1), group(mul(2), mul(3)), xsum()): Python runs our chord-in-a-chain: 10',
    async () => {
      const r = await chain(sig('canvas.add', 1, 1), group([sig('canvas.mul', 2), sig('canvas.mul', 3)]), sig('canvas.xsum')).applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toBe(10);
    },
    TEST_TIMEOUT,
  );

  test(
    'link: the Celery worker sends our callback with the result; it is listed in the children',
    async () => {
      const callbackId = randomUUID();
      ids.add(callbackId);
      const add = sig('canvas.add', 2, 3);
      add.link(sig('canvas.mul', 10).set({ taskId: callbackId }));
      const r = await add.applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toBe(5);
      expect(await clientApp.asyncResult(callbackId).get({ timeout: TIMEOUT })).toBe(50);
      expect((await r.children()).map((c) => c.id)).toEqual([callbackId]);
      expect(await recordOf(callbackId)).toMatchObject({ by: 'py', name: 'canvas.mul', parent: r.id, root: r.id });
    },
    TEST_TIMEOUT,
  );

  test(
    'link_error (old style): the Celery worker sends the errback with the failed task id',
    async () => {
      const errbackId = randomUUID();
      ids.add(errbackId);
      const fail = sig('canvas.fail', 'boom');
      fail.onError(sig('canvas.record_error').set({ taskId: errbackId }));
      const r = await fail.applyAsync();
      track(r);
      const err = await r.get({ timeout: TIMEOUT }).then(
        () => new Error('canvas.fail succeeded'),
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ excType: 'ValueError', excMessage: ['boom'], excModule: 'builtins' });
      expect(await clientApp.asyncResult(errbackId).get({ timeout: TIMEOUT })).toBe(`handled:${r.id}`);
      expect(await recordOf(errbackId)).toMatchObject({ by: 'py', name: 'canvas.record_error', parent: r.id, root: r.id });
    },
    TEST_TIMEOUT,
  );
});

// ---------------------------------------------------------------------------------------------------
// 3. Mixed workflows: node.* on queue A (our worker), py.* on queue B (Celery worker)
// ---------------------------------------------------------------------------------------------------

describe('mixed workflows (node.* on our worker, py.* on a Celery worker)', () => {
  test(
    'from our client: chain node.step -> py.step -> node.step crosses over twice',
    async () => {
      const r = await chain(mixedSig('node.step', [], 'a'), mixedSig('py.step', 'b'), mixedSig('node.step', 'c')).applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toEqual(['node:a', 'py:b', 'node:c']);
      const second = r.parent!;
      const first = second.parent!;
      const recs = await Promise.all([first.id, second.id, r.id].map(recordOf));
      expect(recs.map((x) => x.by)).toEqual(['node', 'py', 'node']);
      expect(recs[1]).toMatchObject({ parent: first.id, root: first.id });
      expect(recs[2]).toMatchObject({ parent: second.id, root: first.id });
    },
    TEST_TIMEOUT,
  );

  test(
    'from our client: chord with a Node + Python header, completed by Node, body in Python',
    async () => {
      const header = [mixedSig('node.step', [], 'n0'), mixedSig('py.step', [], 'p1'), mixedSig('node.last', [], 'n2', 2)];
      const r = await chord(header, mixedSig('py.collect')).applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toEqual({ by: 'py', parts: [['node:n0'], ['py:p1'], ['node:n2']] });
      const headerResult = r.parent as GroupResult;
      const members = await Promise.all(headerResult.results.map((m) => recordOf(m.id)));
      expect(members.map((m) => [m.by, m.group])).toEqual([
        ['node', headerResult.id],
        ['py', headerResult.id],
        ['node', headerResult.id],
      ]);
      // node.last finished last, so our worker completed the join and sent the body to Python.
      expect(await recordOf(r.id)).toMatchObject({ by: 'py', name: 'py.collect', parent: headerResult.results[2]!.id });
      await expectChordKeysDeleted(headerResult.id);
    },
    TEST_TIMEOUT,
  );

  test(
    'from our client: chain node.step -> group(py.step, node.last) -> py.collect (a chord in a chain, header on both sides, completed by Node)',
    async () => {
      const r = await chain(mixedSig('node.step', [], 'a'), group([mixedSig('py.step', 'x'), mixedSig('node.last', 'y', 1)]), mixedSig('py.collect')).applyAsync();
      track(r);
      expect(await r.get({ timeout: TIMEOUT })).toEqual({ by: 'py', parts: [['node:a', 'py:x'], ['node:a', 'node:y']] });
      const body = await recordOf(r.id);
      expect(body).toMatchObject({ by: 'py', name: 'py.collect' });
      const header = (await readRecords()).filter((x) => x.group !== null && x.group === (r.parent as GroupResult).id);
      expect(header.map((x) => x.by).sort()).toEqual(['node', 'py']);
      // As in Celery, a chord applied by a chain step gives its header and its body that step as parent
      // (the body's parent_id is set when the chord is applied; Celery's send_task keeps a given
      // parent_id, so the header task completing the join does not replace it).
      const first = header[0]!.parent;
      expect(await recordOf(first!)).toMatchObject({ by: 'node', name: 'node.step', parent: null });
      expect(header.map((x) => [x.parent, x.root])).toEqual([
        [first, first],
        [first, first],
      ]);
      expect(body).toMatchObject({ parent: first, root: first });
      await expectChordKeysDeleted((r.parent as GroupResult).id);
    },
    TEST_TIMEOUT,
  );

  test(
    'from a Python client: chain py.step -> node.step -> py.step crosses over twice',
    async () => {
      const report = await pyCanvas(pyMixedEnv, 'mixed_chain');
      expect(report.value).toEqual(['py:a', 'node:b', 'py:c']);
      const [first, second, third] = report.steps as string[];
      const recs = await Promise.all([first!, second!, third!].map(recordOf));
      expect(recs.map((x) => x.by)).toEqual(['py', 'node', 'py']);
      expect(recs[1]).toMatchObject({ parent: first, root: first });
      expect(recs[2]).toMatchObject({ parent: second, root: first });
    },
    TEST_TIMEOUT,
  );

  test(
    'from a Python client: chord with a Python + Node header, completed by Python, body on our worker',
    async () => {
      const report = await pyCanvas(pyMixedEnv, 'mixed_chord');
      expect(report.value).toEqual({ by: 'node', parts: [['py:p0'], ['node:n1'], ['py:p2']] });
      const groupId = report.group_id as string;
      const memberIds = report.members as string[];
      const members = await Promise.all(memberIds.map(recordOf));
      expect(members.map((m) => [m.by, m.group])).toEqual([
        ['py', groupId],
        ['node', groupId],
        ['py', groupId],
      ]);
      // py.last finished last, so Celery completed the join and sent the body to our worker.
      expect(await recordOf(report.body_id as string)).toMatchObject({ by: 'node', name: 'node.collect', parent: memberIds[2] });
      await expectChordKeysDeleted(groupId);
    },
    TEST_TIMEOUT,
  );

  test(
    'from a Python client: chain py.step -> group(node.step, py.last) -> node.collect (a chord in a chain, completed by Python)',
    async () => {
      const report = await pyCanvas(pyMixedEnv, 'mixed_chain_chord');
      expect(report.value).toEqual({ by: 'node', parts: [['py:a', 'node:x'], ['py:a', 'py:y']] });
      const body = await recordOf(report.body_id as string);
      expect(body).toMatchObject({ by: 'node', name: 'node.collect' });
      const first = report.first_id as string;
      expect(await recordOf(first)).toMatchObject({ by: 'py', name: 'py.step', parent: null });
      const header = (await readRecords()).filter((x) => x.group !== null && x.parent === first);
      expect(header.map((x) => [x.by, x.name, x.root]).sort()).toEqual([
        ['node', 'node.step', first],
        ['py', 'py.last', first],
      ]);
      // Celery's side of the parent_id rule the Node-completed test above checks: the body keeps the
      // chain step as parent, not the header task (py.last) that completed the join.
      expect(body).toMatchObject({ parent: first, root: first });
      await expectChordKeysDeleted(header[0]!.group!);
    },
    TEST_TIMEOUT,
  );
});

describe('after every workflow', () => {
  test('every message was taken once and acknowledged: nothing left waiting or unacked on any queue (none misrouted)', async () => {
    expect(await leftoverMessages(REDIS_URL, QUEUES)).toEqual({ waiting: 0, unacked: 0 });
  });
});
