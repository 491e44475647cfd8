/** What signatures need from an app to be sent. Implemented by Celeriac. */
import type { CeleriacSettings } from '../app/settings';
import type { ResultBackend } from '../backends/result-backend';
import type { TaskEmbed } from '../protocol/message-v2';
import type { AsyncResult, ResultSource } from '../result/async-result';
import type { AnyTask } from '../task/task';
import type { ApplyOptions } from '../task/task-options';

/** One task message to send: a plain signature with its partial arguments applied. */
export interface TaskSend {
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: ApplyOptions;
  embed: Partial<TaskEmbed>;
}

export interface CanvasHost extends ResultSource {
  readonly conf: CeleriacSettings;
  /** Sends task messages (one broker round trip for many) and returns their results, in order. */
  sendTasks(sends: readonly TaskSend[]): Promise<Array<AsyncResult<unknown>>>;
  /** The result backend, or null when results are disabled. */
  backendOrNull(): ResultBackend | null;
  /** A registered task, if this process has it. */
  localTask(name: string): AnyTask | undefined;
  asyncResult<T = unknown>(id: string): AsyncResult<T>;
}
