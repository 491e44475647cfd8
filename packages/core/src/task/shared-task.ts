/**
 * sharedTask: define a task without an app (Celery's `shared_task`). It registers on every app created
 * in the process and publishes through the current app (the last one created, or `app.setAsCurrent()`).
 */
import { ConfigError } from '../errors';
import { createTask, type AnyTask, type Task, type TaskCaller, type TaskFunction } from './task';
import type { TaskContext } from './task-context';
import type { TaskOptions } from './task-options';

export interface SharedTaskHost extends TaskCaller {
  registerTask(task: AnyTask): void;
  directContext(task: AnyTask, args: unknown[]): TaskContext;
}

const shared: AnyTask[] = [];
const hosts = new Set<SharedTaskHost>();
let current: SharedTaskHost | undefined;

function currentHost(): SharedTaskHost {
  if (!current) throw new ConfigError('app', 'No Celeriac app exists yet: create one (new Celeriac(...)) before calling a shared task.');
  return current;
}

/** @internal Called by every new app. */
export function attachSharedTaskHost(host: SharedTaskHost): void {
  hosts.add(host);
  current = host;
  for (const t of shared) host.registerTask(t);
}

/** @internal */
export function detachSharedTaskHost(host: SharedTaskHost): void {
  hosts.delete(host);
  if (current === host) current = [...hosts].at(-1);
}

/** @internal */
export function setCurrentHost(host: SharedTaskHost): void {
  current = host;
}

/**
 * Defines a task usable by any app.
 * @example
 * export const resize = sharedTask('images.resize', async (url: string, width: number) => { ... });
 */
export function sharedTask<TArgs extends unknown[], TResult>(
  name: string,
  fn: TaskFunction<TArgs, TResult>,
  options: TaskOptions<Awaited<TResult>> = {},
): Task<TArgs, Awaited<TResult>> {
  const task = createTask(name, fn, options as TaskOptions<TResult>, currentHost, (t, args) => currentHost().directContext(t, args));
  shared.push(task);
  for (const host of hosts) host.registerTask(task);
  return task;
}
