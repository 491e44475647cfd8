import type { BeatEntryConfig, BeatOptions, Celeriac, CeleriacOptions, WorkerOptions } from '@celeriac/core';
import { ConfigurableModuleBuilder } from '@nestjs/common';

/**
 * What this process does: `producer` sends tasks (never consumes), `worker` also runs them, `beat`
 * sends the `@Periodic` schedules (and `beatSchedule`) when due; any combination.
 */
export type CeleriacRole = 'producer' | 'worker' | 'beat';
export const CELERIAC_ROLES: readonly CeleriacRole[] = ['producer', 'worker', 'beat'];

/** Nest-side options, next to the core settings. */
export interface CeleriacNestOptions {
  /**
   * Prefix of the environment variables read for settings the options leave unset
   * (`CELERIAC_BROKER_URL`, `CELERIAC_TASK_DEFAULT_QUEUE`...); false reads none.
   * @defaultValue 'CELERIAC_'
   */
  envPrefix?: string | false;
  /** The environment to read. @defaultValue process.env */
  env?: Record<string, string | undefined>;
  /** @defaultValue ['producer'] */
  roles?: CeleriacRole[];
  /** Options of the in-process worker (role `worker`): queues, concurrency, hostname... */
  worker?: WorkerOptions;
  /** Options of the in-process beat (role `beat`): store, maxLoopInterval... (entries come from @Periodic). */
  beat?: Omit<BeatOptions, 'entries'>;
  /**
   * Runs the `beat` role with another scheduler instead of core's Beat, e.g. @celeriac/beat-db's
   * `databaseBeat({ dataSource })`, which upserts the `@Periodic` entries into the database as defaults.
   */
  beatScheduler?: BeatSchedulerFactory;
}

/** A running scheduler, as the lifecycle starts and stops it. Core's Beat is one. */
export interface BeatService {
  start(): Promise<void>;
  close(): Promise<void>;
  on(event: 'error', listener: (err: unknown) => void): unknown;
}

/** Builds the scheduler of the `beat` role from the app and the `@Periodic` entries. */
export type BeatSchedulerFactory = (app: Celeriac, entries: Record<string, BeatEntryConfig>) => BeatService;

/** Options of `CeleriacModule.forRoot()`: any core setting (camelCase) plus the Nest options. */
export type CeleriacModuleOptions = CeleriacOptions & CeleriacNestOptions;

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: CELERIAC_MODULE_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<CeleriacModuleOptions>({ moduleName: 'Celeriac' })
  .setClassMethodName('forRoot')
  .setExtras({ isGlobal: true }, (definition, extras) => ({ ...definition, global: extras.isGlobal }))
  .build();

/** `CeleriacModule.forRoot()` options (with `isGlobal`, default true). */
export type CeleriacModuleForRootOptions = typeof OPTIONS_TYPE;
/** `CeleriacModule.forRootAsync()` options: imports, inject, useFactory | useClass | useExisting, isGlobal. */
export type CeleriacModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
