import { ConfigError, inferParamNames, type AnyTask, type Celeriac } from '@celeriac/core';
import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper';
import { CELERIAC_APP } from './celeriac.constants';
import { PERIODIC_WITHOUT_TASK, REQUEST_SCOPED_TASK } from './celeriac.messages';
import type { PeriodicMetadata, PeriodicOptions, PeriodicSchedule } from './decorators/periodic.decorator';
import { DuplicateTaskError } from './errors/duplicate-task.error';
import { TaskMetadataAccessor } from './task-metadata.accessor';

/** A task found on a provider. */
export interface DiscoveredTask {
  readonly name: string;
  /** `Class#method`. */
  readonly location: string;
  /** The module that provides the instance. */
  readonly module?: string;
  readonly task: AnyTask;
}

/** A `@Periodic` entry: the code default that beat runs. */
export interface PeriodicDefinition {
  /** Entry name (PeriodicOptions.name, or the task name). */
  readonly name: string;
  readonly taskName: string;
  readonly schedule: PeriodicSchedule;
  /** For `every` schedules, the interval in milliseconds. */
  readonly intervalMs?: number;
  readonly args: unknown[];
  readonly kwargs: Record<string, unknown>;
  readonly queue?: string;
  readonly enabled: boolean;
  /** `Class#method`. */
  readonly location: string;
}

type Method = (...args: unknown[]) => unknown;

/**
 * Finds `@Task` and `@Periodic` methods on every provider and controller at module init and registers
 * them on the app. Method decorators are not indexed by DiscoveryService, so it scans prototypes.
 */
@Injectable()
export class CeleriacExplorer implements OnModuleInit {
  private readonly logger = new Logger('Celeriac');
  private readonly found = new Map<string, DiscoveredTask>();
  private readonly periodic: PeriodicDefinition[] = [];
  private explored = false;

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly accessor: TaskMetadataAccessor,
    @Inject(CELERIAC_APP) private readonly app: Celeriac,
  ) {}

  onModuleInit(): void {
    this.explore();
  }

  /** Tasks registered from providers, by name. */
  getTasks(): DiscoveredTask[] {
    return [...this.found.values()];
  }

  /** The `@Periodic` schedules declared in code (for beat). */
  getPeriodicSchedules(): PeriodicDefinition[] {
    return this.periodic.map((entry) => ({ ...entry }));
  }

  /** Scans providers and controllers once. */
  explore(): void {
    if (this.explored) return;
    this.explored = true;
    const seen = new Set<object>();
    const wrappers: InstanceWrapper[] = [...this.discovery.getProviders(), ...this.discovery.getControllers()];
    for (const wrapper of wrappers) {
      const instance: unknown = wrapper.instance;
      if (!instance || typeof instance !== 'object' || seen.has(instance)) continue;
      seen.add(instance);
      const prototype = Object.getPrototypeOf(instance) as object | null;
      if (!prototype || prototype === Object.prototype) continue;
      // useValue and useFactory providers have no class metatype: the instance's constructor names it.
      const className = (instance.constructor as { name?: string } | undefined)?.name || String(wrapper.name);
      const isStatic = wrapper.isDependencyTreeStatic();
      for (const method of this.scanner.getAllMethodNames(prototype)) {
        const fn = (prototype as Record<string, unknown>)[method];
        if (typeof fn !== 'function') continue;
        this.visit(instance as Record<string, unknown>, className, method, fn as Method, isStatic, wrapper.host?.name);
      }
    }
  }

  private visit(instance: Record<string, unknown>, className: string, method: string, fn: Method, isStatic: boolean, moduleName: string | undefined): void {
    const task = this.accessor.getTaskMetadata(fn);
    const periodic = this.accessor.getPeriodicMetadata(fn);
    const location = `${className}#${method}`;
    if (!task) {
      if (periodic) throw new ConfigError('periodic', PERIODIC_WITHOUT_TASK(location));
      return;
    }
    if (!isStatic) {
      this.logger.warn(REQUEST_SCOPED_TASK(location));
      return;
    }
    const name = task.name;
    const previous = this.found.get(name);
    if (previous) {
      // The same class provided by two modules: say which modules.
      const same = previous.location === location;
      throw new DuplicateTaskError(name, same ? [`${location} in ${previous.module ?? '?'}`, `${location} in ${moduleName ?? '?'}`] : [previous.location, location]);
    }
    if (this.app.tasks.has(name)) throw new DuplicateTaskError(name, [`a task already registered on the app as "${name}"`, location]);
    const options = { ...task.options };
    if (!options.params) {
      const params = inferParamNames(fn);
      if (params) options.params = params;
    }
    // The provider instance is `this` (DI); the task context is available via currentTask().
    const registered = this.app.task(name, (...args: unknown[]) => (instance[method] as Method).apply(instance, args), options);
    this.found.set(name, { name, location, task: registered as AnyTask, ...(moduleName === undefined ? {} : { module: moduleName }) });
    if (periodic) this.periodic.push(toDefinition(name, location, periodic));
  }
}

function toDefinition(taskName: string, location: string, metadata: PeriodicMetadata): PeriodicDefinition {
  const options: Readonly<PeriodicOptions> = metadata.options;
  return {
    name: options.name ?? taskName,
    taskName,
    schedule: metadata.schedule,
    ...(metadata.intervalMs === undefined ? {} : { intervalMs: metadata.intervalMs }),
    args: [...(options.args ?? [])],
    kwargs: { ...options.kwargs },
    ...(options.queue === undefined ? {} : { queue: options.queue }),
    enabled: options.enabled ?? true,
    location,
  };
}
