/** @celeriac/nestjs public API. Anything not exported here is internal. */
export { CeleriacModule, CeleriacFeatureModule } from './celeriac.module';
export {
  CELERIAC_MODULE_OPTIONS,
  CELERIAC_ROLES,
  type CeleriacModuleOptions,
  type CeleriacNestOptions,
  type CeleriacRole,
  type CeleriacModuleForRootOptions,
  type CeleriacModuleAsyncOptions,
  type BeatService,
  type BeatSchedulerFactory,
} from './celeriac.module-definition';
export { CELERIAC_APP, TASK_METADATA, PERIODIC_METADATA, DEFAULT_ENV_PREFIX, getTaskProxyToken } from './celeriac.constants';
export { createCeleriacApp, forceRoles } from './celeriac-app.factory';
export { loadNestContext, loadNestContextForPool, type LoadedNestContext, type NestContextLoadOptions } from './cli/nest-context.loader';
export { CeleriacExplorer, type DiscoveredTask, type PeriodicDefinition } from './celeriac.explorer';
export { CeleriacLifecycle } from './celeriac.lifecycle';
export { CeleriacHealthIndicator, type CeleriacHealthResult } from './celeriac.health-indicator';
export { TaskMetadataAccessor } from './task-metadata.accessor';
export { createTaskProxy, type TaskProxy } from './task-proxy.factory';
export { Task, defaultTaskName, type TaskMetadata } from './decorators/task.decorator';
export {
  Periodic,
  parseEvery,
  validatePeriodic,
  SOLAR_EVENTS,
  type SolarEvent,
  type PeriodicSchedule,
  type IntervalSchedule,
  type CrontabSchedule,
  type SolarSchedule,
  type ClockedSchedule,
  type PeriodicOptions,
  type PeriodicMetadata,
} from './decorators/periodic.decorator';
export { InjectCeleriac } from './decorators/inject-celeriac.decorator';
export { InjectTasks } from './decorators/inject-tasks.decorator';
export { DuplicateTaskError } from './errors/duplicate-task.error';
export { CeleriacTestingModule, type CeleriacTestingOptions } from './testing/celeriac-testing.module';
export { waitForTask, type WaitForTaskOptions } from './testing/wait-for-task';
