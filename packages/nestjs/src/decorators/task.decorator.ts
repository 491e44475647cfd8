import type { TaskOptions } from '@celeriac/core';
import { SetMetadata } from '@nestjs/common';
import { TASK_METADATA } from '../celeriac.constants';

/** What `@Task()` stores on a method. */
export interface TaskMetadata {
  /** The task name: explicit, or `<ClassName>.<methodName>` of the declaring class. */
  readonly name: string;
  /** True when the name came from the default rule (no explicit name given). */
  readonly defaultName: boolean;
  readonly options: TaskOptions;
  /** `Class#method` of the declaration, for error messages. */
  readonly declaredAt: string;
}

/**
 * Makes a provider (or controller) method a Celeriac task. The method runs with its provider
 * instance as `this`, so injected services are available; read the task's context (request id,
 * retries, `retry()`) with `currentTask()` from `@celeriac/core`.
 *
 * Default name: `<ClassName>.<methodName>` of the class that declares the method
 * (`MailService.send`). Renaming the class or the method renames the task, and messages already
 * queued under the old name (or sent by Python/saved schedules) no longer reach it: name every task
 * that anything outside this codebase refers to explicitly (`@Task('mail.send')`).
 * @example
 * @Injectable()
 * export class MathTasks {
 *   constructor(private readonly prices: PriceService) {}
 *   @Task('math.add', { maxRetries: 5 }) async add(x: number, y: number) { return x + y; }
 * }
 */
export function Task(name?: string, options?: TaskOptions): MethodDecorator;
export function Task(options: TaskOptions): MethodDecorator;
export function Task(nameOrOptions?: string | TaskOptions, maybeOptions: TaskOptions = {}): MethodDecorator {
  return (target, key, descriptor) => {
    const className = typeof target === 'function' ? target.name : target.constructor.name;
    const method = String(key);
    const explicit = typeof nameOrOptions === 'string' ? nameOrOptions : undefined;
    if (explicit !== undefined && !explicit.trim()) throw new TypeError(`@Task() on ${className}#${method}: the task name must not be empty.`);
    const options = typeof nameOrOptions === 'object' ? nameOrOptions : maybeOptions;
    const metadata: TaskMetadata = {
      name: explicit ?? defaultTaskName(className, method),
      defaultName: explicit === undefined,
      options: { ...options },
      declaredAt: `${className}#${method}`,
    };
    return SetMetadata(TASK_METADATA, metadata)(target, key, descriptor);
  };
}

/** The default task name rule: `<ClassName>.<methodName>`. */
export function defaultTaskName(className: string, methodName: string): string {
  return `${className}.${methodName}`;
}
