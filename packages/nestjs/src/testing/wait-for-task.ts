import { AsyncResult, ConfigError, type Celeriac } from '@celeriac/core';
import type { INestApplicationContext } from '@nestjs/common';
import { CELERIAC_APP } from '../celeriac.constants';
import { CeleriacLifecycle } from '../celeriac.lifecycle';

export interface WaitForTaskOptions {
  /** Milliseconds before rejecting. @defaultValue 5000 */
  timeout?: number;
}

/**
 * Waits for a task to finish and returns its result (rejects with the task's error on failure).
 * - `idOrResult` an AsyncResult or a task id: waits on the result backend.
 * - a registered task name: waits for the next run of that task on this process's worker
 *   (`CeleriacTestingModule.forRoot({ mode: 'worker' })`).
 */
export async function waitForTask<T = unknown>(context: INestApplicationContext, nameOrId: string | AsyncResult<T>, options: WaitForTaskOptions = {}): Promise<T> {
  const timeout = options.timeout ?? 5000;
  const app = context.get<Celeriac>(CELERIAC_APP, { strict: false });
  if (nameOrId instanceof AsyncResult) return nameOrId.get({ timeout });
  if (!app.tasks.has(nameOrId)) return app.asyncResult<T>(nameOrId).get({ timeout });
  const worker = context.get(CeleriacLifecycle, { strict: false }).worker;
  if (!worker) throw new ConfigError('roles', `waitForTask("${nameOrId}") waits on the in-process worker, but this app has no worker role: use mode 'worker' or wait on the AsyncResult.`);
  return new Promise<T>((resolve, reject) => {
    const cleanup = () => {
      clearTimeout(timer);
      worker.off('task-succeeded', onSuccess);
      worker.off('task-failed', onFailure);
    };
    const onSuccess = (event: { name: string; result: unknown }) => {
      if (event.name !== nameOrId) return;
      cleanup();
      resolve(event.result as T);
    };
    const onFailure = (event: { name: string; error: unknown }) => {
      if (event.name !== nameOrId) return;
      cleanup();
      reject(event.error instanceof Error ? event.error : new Error(String(event.error)));
    };
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`waitForTask: task "${nameOrId}" did not finish within ${timeout} ms.`));
    }, timeout);
    worker.on('task-succeeded', onSuccess);
    worker.on('task-failed', onFailure);
  });
}
