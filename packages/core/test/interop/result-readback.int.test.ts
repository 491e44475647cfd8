// Results both ways between RedisResultBackend and Debian's Python Celery (python3-celery 5.2.6):
// what we store, Python's AsyncResult reads; what Python's backend stores, we read.
//
// Celery 5.2.6 has no global_keyprefix for the result backend (added in 5.3), so this file uses a
// dedicated Redis DB and unique task ids, and deletes exactly the keys of those ids afterwards.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { RedisResultBackend } from '../../src/backends/redis/redis-result-backend';
import { RemoteTaskError, TaskRevokedError } from '../../src/errors';
import { parseWireDate } from '../../src/protocol/dates';
import { fromExceptionDict, toExceptionDict } from '../../src/protocol/exception-codec';
import { dateDoneNow, type ResultMeta } from '../../src/protocol/result-meta';
import { parseJson, stringifyJson } from '../../src/protocol/serializers';

const PYTHON = '/usr/bin/python3'; // Debian's, where python3-celery lives; not whatever python3 is first on PATH
const HELPER = path.join(__dirname, 'py', 'readback.py');
const REDIS_URL = process.env.CELERIAC_TEST_INTEROP_REDIS_URL ?? 'redis://127.0.0.1:6379/9';

const run = promisify(execFile);
const raw = new Redis(REDIS_URL, { lazyConnect: true });
const backend = new RedisResultBackend({ url: REDIS_URL });
const usedIds: string[] = [];

function newId(): string {
  const id = randomUUID();
  usedIds.push(id);
  return id;
}

/** What Python's AsyncResult makes of a stored result (see py/readback.py `describe`). */
interface PythonView {
  state: string;
  result: unknown;
  result_repr: string;
  result_type: string;
  traceback: string | null;
  exc_type: string | null;
  exc_module: string | null;
  exc_args: unknown[] | null;
  date_done: string | null;
  date_done_aware: boolean | null;
}

function pythonEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of ['PYTHONPATH', 'PYTHONHOME', 'VIRTUAL_ENV']) delete env[name];
  return env;
}

async function python(args: string[]): Promise<unknown> {
  const { stdout } = await run(PYTHON, [HELPER, ...args], { env: pythonEnv(), timeout: 30_000, maxBuffer: 16 * 1024 * 1024 });
  return parseJson(stdout); // our decoder: keeps integers beyond 2^53 exact
}

async function pythonReads(ids: string[]): Promise<Record<string, PythonView>> {
  return (await python(['read', REDIS_URL, ...ids])) as Record<string, PythonView>;
}

type StoreSpec = { id: string; kind: 'success'; value: unknown } | { id: string; kind: 'failure'; message: string };

async function pythonStores(spec: StoreSpec[]): Promise<void> {
  await python(['store', REDIS_URL, stringifyJson(spec)]);
}

function meta(taskId: string, status: string, result: unknown, traceback: string | null = null): ResultMeta {
  return { taskId, status, result, traceback, children: [], dateDone: dateDoneNow() };
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  try {
    await run(PYTHON, ['-c', 'import celery, redis; assert celery.__version__'], { env: pythonEnv(), timeout: 30_000 });
  } catch (err) {
    throw new Error(
      `This interop test needs Debian's Python Celery: ${PYTHON} could not import celery and redis ` +
        `(${(err as Error).message.trim()}). Install it with: apt-get install python3-celery python3-redis`,
    );
  }
  await raw.connect();
  await backend.connect();
});

afterAll(async () => {
  await backend.close();
  if (usedIds.length) await raw.del(...usedIds.map((id) => `celery-task-meta-${id}`));
  await raw.quit();
});

class CardDeclinedError extends Error {}

describe('Python reads results stored by Celeriac', () => {
  const ids = {
    int: newId(),
    unicode: newId(),
    nested: newId(),
    bigint: newId(),
    failure: newId(),
    custom: newId(),
    revoked: newId(),
    missing: newId(),
  };
  const unicode = 'héllo wörld ✓ 🎉 ключ';
  const nested = { a: [1, { b: null }], ключ: true, f: 1.5, s: 'x' };
  const big = 2n ** 53n + 1n;
  const boom = new RangeError('boom');
  const declined = new CardDeclinedError('card declined');
  const stored: Record<string, ResultMeta> = {};
  let views: Record<string, PythonView>;

  beforeAll(async () => {
    const metas = [
      meta(ids.int, 'SUCCESS', 5),
      meta(ids.unicode, 'SUCCESS', unicode),
      meta(ids.nested, 'SUCCESS', nested),
      meta(ids.bigint, 'SUCCESS', big),
      meta(ids.failure, 'FAILURE', toExceptionDict(boom), boom.stack ?? null),
      meta(ids.custom, 'FAILURE', toExceptionDict(declined), declined.stack ?? null),
      meta(ids.revoked, 'REVOKED', toExceptionDict(new TaskRevokedError('revoked'))),
    ];
    for (const m of metas) {
      stored[m.taskId] = m;
      await backend.storeResult(m);
    }
    views = await pythonReads(Object.values(ids));
  });

  test('SUCCESS with an int, a unicode string and a nested object', () => {
    expect(views[ids.int]).toMatchObject({ state: 'SUCCESS', result: 5, result_type: 'builtins.int', traceback: null });
    expect(views[ids.unicode]).toMatchObject({ state: 'SUCCESS', result: unicode, result_type: 'builtins.str' });
    expect(views[ids.nested]).toMatchObject({ state: 'SUCCESS', result: nested, result_type: 'builtins.dict' });
  });

  test('an integer beyond 2^53 stays exact', async () => {
    expect(await raw.get(`celery-task-meta-${ids.bigint}`)).toContain('"result":9007199254740993');
    expect(views[ids.bigint]).toMatchObject({ state: 'SUCCESS', result_repr: '9007199254740993', result_type: 'builtins.int' });
    expect(views[ids.bigint]!.result).toBe(big);
  });

  test('FAILURE as builtins.ValueError is rebuilt as ValueError, with the message and traceback', () => {
    expect(toExceptionDict(boom)).toEqual({ exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' });
    expect(views[ids.failure]).toMatchObject({
      state: 'FAILURE',
      result_repr: "ValueError('boom')",
      result_type: 'builtins.ValueError',
      exc_type: 'ValueError',
      exc_module: 'builtins',
      exc_args: ['boom'],
      traceback: boom.stack,
    });
  });

  test('our own error class (exc_module "node") becomes a synthetic class of that name', () => {
    expect(toExceptionDict(declined)).toEqual({ exc_type: 'CardDeclinedError', exc_message: ['card declined'], exc_module: 'node' });
    expect(views[ids.custom]).toMatchObject({
      state: 'FAILURE',
      exc_type: 'CardDeclinedError',
      exc_module: 'celery.exceptions',
      exc_args: ['card declined'],
      result_repr: "CardDeclinedError('card declined')",
    });
  });

  test('REVOKED is read as celery.exceptions.TaskRevokedError', () => {
    expect(views[ids.revoked]).toMatchObject({
      state: 'REVOKED',
      result_type: 'celery.exceptions.TaskRevokedError',
      exc_type: 'TaskRevokedError',
      exc_args: ['revoked'],
    });
  });

  test('date_done is naive UTC and Python reads the same instant', () => {
    for (const id of [ids.int, ids.failure, ids.revoked]) {
      const view = views[id]!;
      expect(view.date_done_aware).toBe(false);
      expect(parseWireDate(view.date_done!).getTime()).toBe(parseWireDate(stored[id]!.dateDone!).getTime());
    }
  });

  test('a missing result is PENDING', () => {
    expect(views[ids.missing]).toMatchObject({ state: 'PENDING', result: null });
  });
});

describe('Celeriac reads results stored by Python', () => {
  const ids = { int: newId(), object: newId(), bigint: newId(), failure: newId() };
  const object = { text: 'héllo ✓', list: [1, 2, [3]], none: null };
  const big = 2n ** 53n + 1n;
  let storedAt: number;

  beforeAll(async () => {
    storedAt = Date.now();
    await pythonStores([
      { id: ids.int, kind: 'success', value: 42 },
      { id: ids.object, kind: 'success', value: object },
      { id: ids.bigint, kind: 'success', value: big },
      { id: ids.failure, kind: 'failure', message: 'boom' },
    ]);
  });

  test('SUCCESS values, big integers exact', async () => {
    const [int, obj, bigint] = await backend.getMetaMany([ids.int, ids.object, ids.bigint]);
    expect(int).toMatchObject({ taskId: ids.int, status: 'SUCCESS', result: 42, traceback: null });
    expect(obj).toMatchObject({ status: 'SUCCESS', result: object });
    expect(bigint?.result).toBe(big);
  });

  test('FAILURE becomes a RemoteTaskError with excType, message and the Python traceback', async () => {
    const m = await backend.getMeta(ids.failure);
    expect(m?.status).toBe('FAILURE');
    const err = fromExceptionDict(m!.result, m!.traceback, ids.failure);
    expect(err).toBeInstanceOf(RemoteTaskError);
    expect(err).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['boom'], taskId: ids.failure, message: 'ValueError: boom' });
    expect(err.traceback).toMatch(/^Traceback \(most recent call last\):\n/);
    expect(err.traceback).toMatch(/ValueError: boom\n$/);
    expect(err.stack).toContain(err.traceback!);
  });

  test('date_done is naive UTC and parses as UTC', async () => {
    const m = await backend.getMeta(ids.int);
    expect(m?.dateDone).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?$/);
    const at = parseWireDate(m!.dateDone!).getTime();
    expect(Math.abs(at - storedAt)).toBeLessThan(60_000);
  });

  test('a SUCCESS stored by Python is never overwritten by us', async () => {
    await backend.storeResult(meta(ids.int, 'FAILURE', toExceptionDict(new Error('late'))));
    expect(await backend.getMeta(ids.int)).toMatchObject({ status: 'SUCCESS', result: 42 });
  });

  test('waitFor wakes up when Python stores the result', async () => {
    const id = newId();
    const waiting = backend.waitFor(id, { timeoutMs: 30_000 });
    await waitUntil('our subscription', async () => {
      const [, count] = (await raw.call('PUBSUB', 'NUMSUB', `celery-task-meta-${id}`)) as [string, number];
      return Number(count) > 0;
    });
    await pythonStores([{ id, kind: 'success', value: 'from python' }]);
    await expect(waiting).resolves.toMatchObject({ taskId: id, status: 'SUCCESS', result: 'from python' });
  });
});
