import { ConfigError, type Celeriac, type Task } from '@celeriac/core';
import type { Type } from '@nestjs/common';
import { NOT_A_TASK_PROVIDER } from './celeriac.messages';
import { TaskMetadataAccessor } from './task-metadata.accessor';

/**
 * The tasks of a provider class, typed from its methods: `proxy.send.delay(to, body)` where `send`
 * is a `@Task` method of the class. Keys are the class's methods; only `@Task` ones exist at runtime.
 */
export type TaskProxy<T> = {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  [K in keyof T as T[K] extends (...a: any) => any ? K : never]: T[K] extends (...a: infer TArgs) => infer TResult ? Task<TArgs, Awaited<TResult>> : never;
};

/**
 * Builds the TaskProxy of a class. Each property is a getter that looks the task up in the app's
 * registry when read, so the proxy can be injected before the explorer registered the tasks
 * (module init) and always returns the task the worker runs.
 */
export function createTaskProxy<T>(app: Celeriac, type: Type<T>, accessor: TaskMetadataAccessor = new TaskMetadataAccessor()): TaskProxy<T> {
  const proxy: Record<string, unknown> = {};
  for (const { method, metadata } of accessor.getTaskMethods(type)) {
    Object.defineProperty(proxy, method, {
      enumerable: true,
      get() {
        const task = app.tasks.get(metadata.name);
        if (!task) throw new ConfigError('task', NOT_A_TASK_PROVIDER(type.name, method, metadata.name));
        return task;
      },
    });
  }
  return Object.freeze(proxy) as TaskProxy<T>;
}
