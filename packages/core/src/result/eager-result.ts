/** The result of a task run in-process by apply() or eager mode: already done, nothing to wait for. */
import { AsyncResult, type GetOptions } from './async-result';
import type { ResultMeta } from '../protocol/result-meta';
import type { TaskState } from './states';

export class EagerResult<T = unknown> extends AsyncResult<T> {
  constructor(
    id: string,
    private readonly record: ResultMeta,
  ) {
    super(id, null);
  }

  override async meta(): Promise<ResultMeta> {
    return this.record;
  }

  override async get(options: GetOptions = {}): Promise<T> {
    return this.unwrap(this.record, options.propagate ?? true);
  }

  override async state(): Promise<TaskState> {
    return this.record.status;
  }

  override async forget(): Promise<void> {}
}
