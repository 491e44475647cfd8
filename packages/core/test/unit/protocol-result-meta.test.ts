import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { DecodeError } from '../../src/errors';
import { dateDoneNow, decodeResultMeta, encodeResultMeta, type ResultMeta } from '../../src/protocol/result-meta';

const PYTHON = '/usr/bin/python3';
const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors');

/** Every `celery-task-meta-*` value a Python worker wrote with SETEX in a capture, as exact text. */
function storedResults(file: string): string[] {
  const full = path.join(VECTORS, file);
  if (!existsSync(full)) throw new Error(`Vector ${full} is missing (see /work/shared/protocol/vectors/README.md).`);
  const vector = JSON.parse(readFileSync(full, 'utf8')) as { redis_commands: Array<{ cmd: string[] }> };
  const values = vector.redis_commands.filter((c) => c.cmd[0] === 'SETEX' && c.cmd[1]!.startsWith('celery-task-meta-')).map((c) => c.cmd[3]!);
  if (!values.length) throw new Error(`No task result stored in ${file}.`);
  return values;
}

const FILES = [
  'redis/worker/01_add_success.json',
  'redis/worker_extended/01_add_success_extended.json',
  'redis/worker/02_fail_valueerror.json',
  'redis/worker/04_retry.json',
  'redis/worker/05_group.json',
  'redis/worker/07_chain.json',
  'redis/worker_extended/02_fail_extended.json',
];
const STORED = FILES.flatMap((f) => storedResults(f).map((text, i) => [`${f} #${i + 1}`, text] as const));

describe('encodeResultMeta writes keys in Python _get_result_meta order', () => {
  it('SUCCESS from scratch equals redis/worker/01_add_success exactly (modulo JSON spacing)', () => {
    const [python] = storedResults('redis/worker/01_add_success.json');
    const parsed = JSON.parse(python!) as Record<string, unknown>;
    const ours = encodeResultMeta({
      taskId: parsed.task_id as string,
      status: 'SUCCESS',
      result: 5,
      traceback: null,
      children: [],
      dateDone: parsed.date_done as string,
    });
    expect(Object.keys(ours)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'task_id']);
    expect(JSON.stringify(ours)).toBe(JSON.stringify(parsed));
  });

  it('STARTED and SUCCESS with result_extended equal redis/worker_extended/01_add_success_extended', () => {
    const [started, success] = storedResults('redis/worker_extended/01_add_success_extended.json').map((t) => JSON.parse(t) as Record<string, unknown>);
    const common = { taskId: success!.task_id as string, traceback: null, children: [], name: 'tasks.add', args: [2, 3], kwargs: {}, worker: 'worker1@wirehost', retries: 0, queue: 'celery' };
    const oursStarted = encodeResultMeta({ ...common, status: 'STARTED', result: { pid: 22281, hostname: 'worker1@wirehost' }, dateDone: null });
    const oursSuccess = encodeResultMeta({ ...common, status: 'SUCCESS', result: 5, dateDone: success!.date_done as string });
    expect(Object.keys(oursSuccess)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'name', 'args', 'kwargs', 'worker', 'retries', 'queue', 'task_id']);
    expect(JSON.stringify(oursStarted)).toBe(JSON.stringify(started));
    expect(JSON.stringify(oursSuccess)).toBe(JSON.stringify(success));
  });

  it('puts group_id then parent_id after date_done, task_id last', () => {
    const doc = encodeResultMeta({ taskId: 't', status: 'SUCCESS', result: 1, traceback: null, children: [], dateDone: 'd', groupId: 'g', parentId: 'p' });
    expect(Object.keys(doc)).toEqual(['status', 'result', 'traceback', 'children', 'date_done', 'group_id', 'parent_id', 'task_id']);
  });

  it('writes null, not nothing, for an extended field it does not know (Python writes None)', () => {
    const doc = encodeResultMeta({ taskId: 't', status: 'SUCCESS', result: 1, traceback: null, children: [], dateDone: 'd', name: 'tasks.x', args: [1], kwargs: {} });
    expect(JSON.parse(JSON.stringify(doc))).toEqual({ status: 'SUCCESS', result: 1, traceback: null, children: [], date_done: 'd', name: 'tasks.x', args: [1], kwargs: {}, worker: null, retries: null, queue: null, task_id: 't' });
  });

  it.each(STORED)('decode then encode keeps %s unchanged', (_label, text) => {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const again = encodeResultMeta(decodeResultMeta(parsed, 'unused'));
    expect(Object.keys(again)).toEqual(Object.keys(parsed));
    expect(JSON.stringify(again)).toBe(JSON.stringify(parsed));
  });

  it('Python json.dumps of our document is byte-identical to what the Python worker stored (run by /usr/bin/python3)', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing.`);
    const ours = STORED.map(([, text]) => JSON.stringify(encodeResultMeta(decodeResultMeta(JSON.parse(text), 'unused'))));
    const py = spawnSync(PYTHON, ['-c', 'import json,sys; print(json.dumps([json.dumps(json.loads(s)) for s in json.load(sys.stdin)]))'], { input: JSON.stringify(ours), encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    expect(JSON.parse(py.stdout)).toEqual(STORED.map(([, text]) => text));
  });
});

describe('decodeResultMeta', () => {
  it('reads a Python FAILURE document', () => {
    const [text] = storedResults('redis/worker/02_fail_valueerror.json');
    const meta = decodeResultMeta(JSON.parse(text!), 'ignored');
    expect(meta).toMatchObject({ status: 'FAILURE', result: { exc_type: 'ValueError', exc_message: ['boom'], exc_module: 'builtins' }, children: [] });
    expect(meta.traceback).toContain('ValueError: boom');
    expect(meta.dateDone).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    expect(meta).not.toHaveProperty('name');
  });

  it('reads the extended fields', () => {
    const [, text] = storedResults('redis/worker_extended/01_add_success_extended.json');
    expect(decodeResultMeta(JSON.parse(text!), 'x')).toMatchObject({ name: 'tasks.add', args: [2, 3], kwargs: {}, worker: 'worker1@wirehost', retries: 0, queue: 'celery' });
  });

  it('fills in a minimal document written by a foreign worker', () => {
    const meta: ResultMeta = decodeResultMeta({ status: 'SUCCESS', result: 'x' }, 'fallback-id');
    expect(meta).toEqual({ taskId: 'fallback-id', status: 'SUCCESS', result: 'x', traceback: null, children: null, dateDone: null });
  });

  it('keeps a custom state and its meta', () => {
    expect(decodeResultMeta({ status: 'PROGRESS', result: { done: 3, total: 10 }, task_id: 't' }, 't')).toMatchObject({ status: 'PROGRESS', result: { done: 3, total: 10 } });
  });

  it('throws DecodeError for something that is not a result document', () => {
    expect(() => decodeResultMeta(null, 't')).toThrow(DecodeError);
    expect(() => decodeResultMeta([1], 't')).toThrow(DecodeError);
    expect(() => decodeResultMeta({ result: 1 }, 't')).toThrow(/has no status/);
  });
});

describe('dateDoneNow', () => {
  it('is naive UTC with 6 fraction digits, close to now', () => {
    const text = dateDoneNow();
    expect(text).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}$/);
    expect(Math.abs(Date.parse(`${text.slice(0, 23)}Z`) - Date.now())).toBeLessThan(5000);
  });
});
