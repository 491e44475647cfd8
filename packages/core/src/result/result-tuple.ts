/**
 * Celery's result tuples (`as_tuple()` / `result_from_tuple`), the form results take in a stored
 * `children` list, in a saved group and in `celery.chord_unlock`:
 * `[[id, parent|null], null]` for a task, `[[groupId, parent|null], [member tuples...]]` for a group.
 */
import { DecodeError } from '../errors';
import { AsyncResult, setResultTupleReader, type ResultSource } from './async-result';
import { GroupResult } from './group-result';

export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];

/** The tuple of a result (and of its parents). */
export function toResultTuple(result: AsyncResult<unknown>): ResultTuple {
  const parent = result.parent ? toResultTuple(result.parent) : null;
  if (result instanceof GroupResult) return [[result.id, parent], result.results.map(toResultTuple)];
  return [[result.id, parent], null];
}

/** A result handle from its tuple (a bare id string is accepted too). */
export function fromResultTuple(tuple: unknown, source: ResultSource | null): AsyncResult<unknown> {
  if (typeof tuple === 'string') return new AsyncResult(tuple, source);
  if (!Array.isArray(tuple) || tuple.length !== 2 || !Array.isArray(tuple[0]) || typeof tuple[0][0] !== 'string') {
    throw new DecodeError(`Not a Celery result tuple: ${JSON.stringify(tuple)}`);
  }
  const [[id, parentTuple], members] = tuple as ResultTuple;
  const result = Array.isArray(members) ? new GroupResult(id, members.map((m) => fromResultTuple(m, source)), source) : new AsyncResult(id, source);
  if (parentTuple) result.parent = fromResultTuple(parentTuple, source);
  return result;
}

setResultTupleReader(fromResultTuple);
