/**
 * `celeriac worker --nest <path[:export]>`: the app comes from a Nest application booted by
 * @celeriac/nestjs (its `loadNestContext`), so tasks run with their providers and full DI. Core
 * never depends on Nest: @celeriac/nestjs is resolved at run time from the user's project.
 *
 * The Nest module configures the app (its forRoot/forRootAsync options and env prefix), so -A, -b and
 * --result-backend are refused with --nest; -l still sets the log level. The CLI runs the worker; the
 * module is booted as `producer` (+ `beat` with -B, run by the module's own beat or beatScheduler).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Celeriac } from '../app/celeriac';
import { ConfigError } from '../errors';
import { normalizeLevel } from '../logging/logger';
import type { AppSource } from '../worker/pools/pool';
import type { WorkerOptions } from '../worker/worker';
import type { AppOptions, CliContext, LoadedApp } from './load-app';

const NEST_PACKAGE = '@celeriac/nestjs';

/** What @celeriac/nestjs's loadNestContext returns (the part used here). */
interface NestContextLike {
  app: Celeriac;
  file: string;
  exportName: string;
  workerOptions: WorkerOptions | undefined;
  close(): Promise<void>;
}

interface NestPackage {
  loadNestContext(spec: string, options: { cwd?: string; roles?: string[] }): Promise<NestContextLike>;
}

/** A worker's app booted from Nest. */
export interface NestLoadedApp extends LoadedApp {
  /** The module's own `worker` options, defaults under the CLI's flags. */
  workerOptions: WorkerOptions;
  /** How pool threads/processes boot the same Nest app (as producers). */
  appSource: AppSource;
  /** Closes the Nest context (its shutdown hooks close the app). */
  close(): Promise<void>;
}

/** Finds @celeriac/nestjs from the project first, then beside this package (a monorepo). */
function resolveNestPackage(cwd: string): string {
  for (const base of [join(cwd, 'package.json'), __filename]) {
    try {
      return createRequire(base).resolve(NEST_PACKAGE);
    } catch {
      // try the next place
    }
  }
  throw new ConfigError('--nest', `--nest needs ${NEST_PACKAGE}, which cannot be found from ${cwd}: npm install ${NEST_PACKAGE}.`);
}

export async function openNestApp(ctx: CliContext, options: AppOptions & { nest?: string; loglevel?: string; beat?: boolean }): Promise<NestLoadedApp> {
  const spec = options.nest ?? '';
  if (!spec.trim()) throw new ConfigError('--nest', '--nest needs the path of a Nest module or bootstrap file, e.g. --nest dist/app.module.js:AppModule.');
  const clash = [options.app && '-A', options.broker && '-b', options.resultBackend && '--result-backend'].filter(Boolean);
  if (clash.length) throw new ConfigError('--nest', `--nest cannot be combined with ${clash.join(', ')}: the Nest module configures the app (CeleriacModule.forRoot options, or its environment variables).`);
  const packagePath = resolveNestPackage(ctx.cwd);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const nest = require(packagePath) as Partial<NestPackage>;
  if (typeof nest.loadNestContext !== 'function') throw new ConfigError('--nest', `${NEST_PACKAGE} at ${packagePath} has no loadNestContext: upgrade it to the version of @celeriac/core.`);
  const roles = options.beat ? ['producer', 'beat'] : ['producer'];
  const loaded = await nest.loadNestContext(spec, { cwd: ctx.cwd, roles });
  if (options.loglevel) {
    loaded.app.conf.workerLogLevel = options.loglevel;
    loaded.app.logger.level = normalizeLevel(options.loglevel);
  }
  return {
    app: loaded.app,
    file: loaded.file,
    exportName: loaded.exportName,
    workerOptions: loaded.workerOptions ?? {},
    appSource: { module: packagePath, export: 'loadNestContextForPool', args: [spec, { cwd: ctx.cwd }] },
    close: () => loaded.close(),
  };
}
