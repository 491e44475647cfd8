/** The only place that reads Celeriac decorator metadata. */
import { Injectable, type Type } from '@nestjs/common';
import { MetadataScanner, Reflector } from '@nestjs/core';
import { PERIODIC_METADATA, TASK_METADATA } from './celeriac.constants';
import type { PeriodicMetadata } from './decorators/periodic.decorator';
import type { TaskMetadata } from './decorators/task.decorator';

type AnyFunction = (...args: unknown[]) => unknown;

@Injectable()
export class TaskMetadataAccessor {
  constructor(private readonly reflector: Reflector = new Reflector()) {}

  getTaskMetadata(target: AnyFunction): TaskMetadata | undefined {
    return this.reflector.get<TaskMetadata | undefined>(TASK_METADATA, target);
  }

  getPeriodicMetadata(target: AnyFunction): PeriodicMetadata | undefined {
    return this.reflector.get<PeriodicMetadata | undefined>(PERIODIC_METADATA, target);
  }

  /** The `@Task` methods of a class (own and inherited), with their metadata. */
  getTaskMethods(type: Type<unknown>, scanner: MetadataScanner = new MetadataScanner()): Array<{ method: string; metadata: TaskMetadata }> {
    return this.taskMethodsOf(type.prototype as object, scanner);
  }

  /** The `@Task` methods reachable from a prototype. */
  taskMethodsOf(prototype: object, scanner: MetadataScanner): Array<{ method: string; metadata: TaskMetadata }> {
    const out: Array<{ method: string; metadata: TaskMetadata }> = [];
    for (const method of scanner.getAllMethodNames(prototype)) {
      const fn = (prototype as Record<string, unknown>)[method];
      if (typeof fn !== 'function') continue;
      const metadata = this.getTaskMetadata(fn as AnyFunction);
      if (metadata) out.push({ method, metadata });
    }
    return out;
  }
}
