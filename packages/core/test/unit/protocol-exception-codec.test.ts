import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  ChordError,
  MaxRetriesExceededError,
  NotRegisteredError,
  RemoteTaskError,
  SoftTimeLimitExceededError,
  TaskRevokedError,
  TimeLimitExceededError,
  WorkerLostError,
} from '../../src/errors';
import { fromExceptionDict, isExceptionDict, NODE_EXC_MODULE, toExceptionDict, type ExceptionDict } from '../../src/protocol/exception-codec';

const PYTHON = '/usr/bin/python3';
const VECTORS = path.resolve(__dirname, '../../../../../shared/protocol/vectors');

/** The FAILURE document a Python worker stored in a worker capture. */
function storedFailure(file: string): { status: string; result: ExceptionDict; traceback: string; task_id: string } {
  const full = path.join(VECTORS, file);
  if (!existsSync(full)) throw new Error(`Vector ${full} is missing (see /work/shared/protocol/vectors/README.md).`);
  const vector = JSON.parse(readFileSync(full, 'utf8')) as { redis_commands: Array<{ cmd: string[] }> };
  const setex = vector.redis_commands.find((c) => c.cmd[0] === 'SETEX' && c.cmd[1]!.startsWith('celery-task-meta-') && c.cmd[3]!.includes('"FAILURE"'));
  if (!setex) throw new Error(`No FAILURE result in ${file}.`);
  return JSON.parse(setex.cmd[3]!);
}

class CardDeclined extends Error {
  excType = 'CardDeclined';
  excModule = 'billing.errors';
}
class WithArgs extends Error {
  excType = 'WireError';
  excModule = 'tasks';
  excMessage = ['custom failure', 42];
}
class TypeOnly extends Error {
  excType = 'PaymentError';
}
class MyAppError extends Error {}
class MyTypeError extends TypeError {}

describe('toExceptionDict: JS errors become Python-safe dicts', () => {
  it.each([
    ['Error', new Error('boom'), 'Exception'],
    ['TypeError', new TypeError('x is not a function'), 'TypeError'],
    ['RangeError', new RangeError('out of range'), 'ValueError'],
    ['SyntaxError', new SyntaxError('bad'), 'SyntaxError'],
    ['ReferenceError', new ReferenceError('y is not defined'), 'NameError'],
    ['EvalError', new EvalError('e'), 'RuntimeError'],
    ['URIError', new URIError('u'), 'ValueError'],
  ])('%s → builtins.%s', (_js, error, pyName) => {
    expect(toExceptionDict(error)).toEqual({ exc_type: pyName, exc_message: [error.message], exc_module: 'builtins' });
  });

  it('AggregateError → builtins.Exception', () => {
    expect(toExceptionDict(new AggregateError([], 'many'))).toEqual({ exc_type: 'Exception', exc_message: ['many'], exc_module: 'builtins' });
  });

  it('a user error class keeps its name under the non-importable module "node"', () => {
    expect(toExceptionDict(new MyAppError('nope'))).toEqual({ exc_type: 'MyAppError', exc_message: ['nope'], exc_module: NODE_EXC_MODULE });
    expect(toExceptionDict(new MyTypeError('sub'))).toEqual({ exc_type: 'MyTypeError', exc_message: ['sub'], exc_module: 'node' });
  });

  it('things thrown that are not errors become builtins.Exception', () => {
    expect(toExceptionDict('plain string')).toEqual({ exc_type: 'Exception', exc_message: ['plain string'], exc_module: 'builtins' });
    expect(toExceptionDict({ code: 42 })).toEqual({ exc_type: 'Exception', exc_message: ['{"code":42}'], exc_module: 'builtins' });
    expect(toExceptionDict(undefined)).toEqual({ exc_type: 'Exception', exc_message: ['undefined'], exc_module: 'builtins' });
  });

  it('always writes exc_message as a list', () => {
    for (const e of [new Error(''), 'x', 5, null]) expect(Array.isArray(toExceptionDict(e).exc_message)).toBe(true);
  });
});

describe("toExceptionDict: Celery's own errors use celery.exceptions names", () => {
  it.each([
    ['NotRegistered', new NotRegisteredError('tasks.missing'), ['tasks.missing']],
    ['TaskRevokedError', new TaskRevokedError('expired'), ['expired']],
    ['TimeLimitExceeded', new TimeLimitExceededError(30), [30]],
    ['SoftTimeLimitExceeded', new SoftTimeLimitExceededError(20), [20]],
  ])('%s', (pyName, error, message) => {
    expect(toExceptionDict(error)).toEqual({ exc_type: pyName, exc_message: message, exc_module: 'celery.exceptions' });
  });

  it('WorkerLostError, MaxRetriesExceededError and ChordError carry their message', () => {
    expect(toExceptionDict(new WorkerLostError('Worker exited prematurely'))).toEqual({ exc_type: 'WorkerLostError', exc_message: ['Worker exited prematurely'], exc_module: 'celery.exceptions' });
    const max = new MaxRetriesExceededError('tasks.x', 'id-1', 3);
    expect(toExceptionDict(max)).toEqual({ exc_type: 'MaxRetriesExceededError', exc_message: [max.message], exc_module: 'celery.exceptions' });
    expect(toExceptionDict(new ChordError('Dependency a raised ValueError()'))).toEqual({ exc_type: 'ChordError', exc_message: ['Dependency a raised ValueError()'], exc_module: 'celery.exceptions' });
  });

  it('a RemoteTaskError (e.g. re-raised from Python) keeps its Python identity', () => {
    const remote = new RemoteTaskError('WireError', ['custom failure', 42], 'tasks', 'Traceback...', 'id-1');
    expect(toExceptionDict(remote)).toEqual({ exc_type: 'WireError', exc_message: ['custom failure', 42], exc_module: 'tasks' });
  });
});

describe('toExceptionDict: errors declaring excType / excModule / excMessage', () => {
  it('uses the declared Python name and module', () => {
    expect(toExceptionDict(new CardDeclined('card 4242 declined'))).toEqual({ exc_type: 'CardDeclined', exc_message: ['card 4242 declined'], exc_module: 'billing.errors' });
  });

  it('uses excMessage as the args list when given', () => {
    expect(toExceptionDict(new WithArgs('ignored'))).toEqual({ exc_type: 'WireError', exc_message: ['custom failure', 42], exc_module: 'tasks' });
  });

  it('defaults the module to "node" when only excType is declared', () => {
    expect(toExceptionDict(new TypeOnly('p'))).toEqual({ exc_type: 'PaymentError', exc_message: ['p'], exc_module: 'node' });
  });
});

describe('Python rebuilds every dict we write as an exception (backend.exception_to_python, run by /usr/bin/python3)', () => {
  it('never gets SecurityError or a non-exception, and keeps the type name and args', () => {
    if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: this check needs python3-celery.`);
    const errors: unknown[] = [
      new Error('boom'),
      new TypeError('t'),
      new RangeError('r'),
      new SyntaxError('s'),
      new ReferenceError('n'),
      new EvalError('e'),
      new URIError('u'),
      new MyAppError('mine'),
      'thrown string',
      new NotRegisteredError('tasks.missing'),
      new TaskRevokedError('revoked'),
      new TimeLimitExceededError(30),
      new SoftTimeLimitExceededError(20),
      new WorkerLostError('lost'),
      new MaxRetriesExceededError('tasks.x', 'id', 3),
      new ChordError('dep'),
      new WithArgs('x'),
    ];
    const dicts = errors.map(toExceptionDict);
    const script = [
      'import json, sys',
      'from celery import Celery',
      "backend = Celery('t', backend='cache+memory://').backend",
      'out = []',
      'for d in json.load(sys.stdin):',
      '    e = backend.exception_to_python(d)',
      '    out.append([isinstance(e, Exception), type(e).__name__, repr(list(e.args))])',
      'print(json.dumps(out))',
    ].join('\n');
    const py = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(dicts), encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`python3 failed: ${py.stderr}`);
    const rebuilt = JSON.parse(py.stdout) as Array<[boolean, string, string]>;
    expect(rebuilt.map(([isExc]) => isExc)).toEqual(dicts.map(() => true));
    expect(rebuilt.map(([, name]) => name)).toEqual(dicts.map((d) => d.exc_type));
    expect(rebuilt[16]![2]).toBe("['custom failure', 42]");
    expect(rebuilt[11]![2]).toBe('[30]');
  });
});

describe('fromExceptionDict', () => {
  it('rebuilds the ValueError a Python worker stored (redis/worker/02_fail_valueerror)', () => {
    const doc = storedFailure('redis/worker/02_fail_valueerror.json');
    expect(isExceptionDict(doc.result)).toBe(true);
    const err = fromExceptionDict(doc.result, doc.traceback, doc.task_id);
    expect(err).toBeInstanceOf(RemoteTaskError);
    expect(err.excType).toBe('ValueError');
    expect(err.excMessage).toEqual(['boom']);
    expect(err.excModule).toBe('builtins');
    expect(err.message).toBe('ValueError: boom');
    expect(err.traceback).toBe(doc.traceback);
    expect(err.traceback).toContain('raise ValueError(msg)');
    expect(err.taskId).toBe(doc.task_id);
    expect(err.stack).toContain('ValueError: boom');
  });

  it('rebuilds the custom exception with several args (redis/worker/03_fail_custom_exception)', () => {
    const doc = storedFailure('redis/worker/03_fail_custom_exception.json');
    const err = fromExceptionDict(doc.result, doc.traceback, doc.task_id);
    expect(err.excType).toBe('WireError');
    expect(err.excMessage).toEqual(['custom failure', 42]);
    expect(err.excModule).toBe('tasks');
    expect(err.message).toBe('WireError: custom failure, 42');
    expect(err.traceback).toContain("tasks.WireError: ('custom failure', 42)");
  });

  it('round-trips what toExceptionDict wrote', () => {
    const err = fromExceptionDict(toExceptionDict(new CardDeclined('declined')), null);
    expect(err).toMatchObject({ excType: 'CardDeclined', excMessage: ['declined'], excModule: 'billing.errors', traceback: null });
  });

  it('accepts a single-value exc_message and a null module (as Celery does)', () => {
    const err = fromExceptionDict({ exc_type: 'JsError', exc_message: 'plain string message', exc_module: null }, null);
    expect(err).toMatchObject({ excType: 'JsError', excMessage: ['plain string message'], excModule: null });
  });

  it('turns a result without exc_type into a generic Exception carrying the value', () => {
    const err = fromExceptionDict({ message: 'no type' }, null);
    expect(err.excType).toBe('Exception');
    expect(err.excMessage).toEqual([{ message: 'no type' }]);
  });

  it('isExceptionDict only accepts objects with a string exc_type', () => {
    expect(isExceptionDict({ exc_type: 'X', exc_message: [] })).toBe(true);
    expect(isExceptionDict({ exc_type: 1 })).toBe(false);
    expect(isExceptionDict(null)).toBe(false);
    expect(isExceptionDict('ValueError')).toBe(false);
  });
});
