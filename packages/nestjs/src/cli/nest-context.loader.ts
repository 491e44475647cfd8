/**
 * Boots a Nest app as an application context for the `celeriac` CLI: `celeriac worker --nest
 * <path[:export]>` and each thread/process of its pools. The path names either a module (a class
 * decorated with @Module, or a dynamic module) or a bootstrap function returning an application
 * context or app (`NestFactory.createApplicationContext(AppModule)`), so tasks run with full DI.
 *
 * The CLI runs the worker itself, so the context is booted with the roles it imposes (see
 * forceRoles): `producer`, plus `beat` for `-B`; never a second in-module worker.
 */
import type { Celeriac, WorkerOptions } from '@celeriac/core';
import { ConfigError, parseAppSpec } from '@celeriac/core';
import type { INestApplicationContext, LogLevel } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { forceRoles } from '../celeriac-app.factory';
import { CELERIAC_APP } from '../celeriac.constants';
import { CELERIAC_MODULE_OPTIONS, type CeleriacModuleOptions, type CeleriacRole } from '../celeriac.module-definition';

export interface NestContextLoadOptions {
  /** Base of a relative path. @defaultValue process.cwd() */
  cwd?: string;
  /** The roles the booted CeleriacModule takes. @defaultValue ['producer'] */
  roles?: CeleriacRole[];
  /** Nest's own logger levels while booting a module (a bootstrap function sets its own). @defaultValue ['error', 'warn'] */
  logger?: LogLevel[] | false;
}

/** A booted Nest context and its Celeriac app. */
export interface LoadedNestContext {
  app: Celeriac;
  context: INestApplicationContext;
  /** Absolute path of the loaded file. */
  file: string;
  /** The export that was booted. */
  exportName: string;
  /** The module's `worker` options (queues, concurrency...), defaults under the CLI's flags. */
  workerOptions: WorkerOptions | undefined;
  /** Closes the context (its shutdown hooks close the app). */
  close(): Promise<void>;
}

const PREFERRED_EXPORTS = ['default', 'AppModule', 'WorkerModule', 'bootstrap'];

/** Nest's @Module metadata keys: a class carrying one of them is a module. */
const MODULE_KEYS = ['imports', 'providers', 'controllers', 'exports'];

function isModuleClass(value: unknown): boolean {
  return typeof value === 'function' && MODULE_KEYS.some((k) => Reflect.hasOwnMetadata?.(k, value));
}

function isDynamicModule(value: unknown): boolean {
  return !!value && typeof value === 'object' && isModuleClass((value as { module?: unknown }).module);
}

function isContext(value: unknown): value is INestApplicationContext {
  return !!value && typeof value === 'object' && typeof (value as INestApplicationContext).get === 'function' && typeof (value as INestApplicationContext).close === 'function';
}

function describe(value: unknown): string {
  if (isModuleClass(value)) return 'Nest module';
  if (typeof value === 'function') return 'function';
  return value === null ? 'null' : typeof value;
}

function withArticle(kind: string): string {
  return /^[aeiou]/i.test(kind) ? `an ${kind}` : `a ${kind}`;
}

async function importFile(file: string): Promise<Record<string, unknown>> {
  try {
    // require() keeps the app's module graph in one registry with @celeriac/nestjs (forceRoles must reach it).
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(file) as Record<string, unknown>;
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_REQUIRE_ESM') throw err;
    return (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  }
}

/** Loads `spec` (`path[:export]`), boots it and finds its Celeriac app. */
export async function loadNestContext(spec: string, options: NestContextLoadOptions = {}): Promise<LoadedNestContext> {
  const { module: modulePath, exportName: wanted } = parseAppSpec(spec);
  const file = isAbsolute(modulePath) ? modulePath : resolve(options.cwd ?? process.cwd(), modulePath);
  if (!existsSync(file) && !existsSync(`${file}.js`)) throw new ConfigError('--nest', `--nest: no such file ${file}.`);
  const exports = await importFile(file);
  const names = Object.keys(exports).filter((k) => k !== '__esModule');
  const listing = names.map((n) => `${n} (${describe(exports[n])})`).join(', ') || 'none';
  const bootable = (v: unknown): boolean => isModuleClass(v) || isDynamicModule(v) || typeof v === 'function';
  let exportName = wanted;
  if (exportName === undefined) {
    exportName = PREFERRED_EXPORTS.find((n) => bootable(exports[n]));
    if (exportName === undefined) {
      const modules = names.filter((n) => isModuleClass(exports[n]));
      if (modules.length === 1) exportName = modules[0];
    }
    if (exportName === undefined) throw new ConfigError('--nest', `--nest: ${modulePath} exports no Nest module or bootstrap function to boot (name one with ${modulePath}:<export>). Exports found: ${listing}.`);
  }
  const target = exports[exportName];
  if (!bootable(target)) throw new ConfigError('--nest', `--nest: export "${exportName}" of ${modulePath} is ${target === undefined ? 'missing' : withArticle(describe(target))}, not a Nest module or bootstrap function. Exports found: ${listing}.`);

  forceRoles(options.roles ?? ['producer']);
  let context: INestApplicationContext;
  try {
    if (isModuleClass(target) || isDynamicModule(target)) {
      context = await NestFactory.createApplicationContext(target as never, { logger: options.logger ?? ['error', 'warn'] });
    } else {
      const booted: unknown = await (target as () => unknown)();
      if (!isContext(booted)) throw new ConfigError('--nest', `--nest: ${exportName}() of ${modulePath} returned ${describe(booted)}; a bootstrap function must return the Nest application or application context.`);
      context = booted;
      await (context as INestApplicationContext & { init?: () => Promise<unknown> }).init?.();
    }
  } finally {
    forceRoles(undefined);
  }
  let app: Celeriac;
  try {
    app = context.get<Celeriac>(CELERIAC_APP, { strict: false });
  } catch {
    await context.close();
    throw new ConfigError('--nest', `--nest: ${modulePath} boots no CeleriacModule (import CeleriacModule.forRoot/forRootAsync in it).`);
  }
  let moduleOptions: CeleriacModuleOptions | undefined;
  try {
    moduleOptions = context.get<CeleriacModuleOptions>(CELERIAC_MODULE_OPTIONS, { strict: false });
  } catch {
    moduleOptions = undefined;
  }
  return { app, context, file, exportName, workerOptions: moduleOptions?.worker, close: () => context.close() };
}

/**
 * The AppSource entry of a pool thread/process (core's `AppSource`): boots the same Nest app as a
 * producer, so tasks run there with DI, and closes it when the thread/process retires.
 */
export async function loadNestContextForPool(spec: string, options: NestContextLoadOptions = {}): Promise<{ app: Celeriac; close: () => Promise<void> }> {
  const loaded = await loadNestContext(spec, { ...options, roles: ['producer'] });
  return { app: loaded.app, close: () => loaded.close() };
}
