/**
 * The AppSource of `celeriac worker -P threads|processes`: each thread or child process loads the
 * same -A module and applies the same settings (env vars, -b, --result-backend, -l) as the worker.
 */
import type { Celeriac } from '../app/celeriac';
import type { AppSource } from '../worker/pools/pool';
import { applySettings, loadApp, type CliOverrides } from './load-app';

export interface CliAppSourceOptions {
  cwd: string;
  env: Record<string, string | undefined>;
  overrides: CliOverrides;
}

/** Points a pool child at loadCliApp below (this file, compiled). */
export function cliAppSource(spec: string, options: CliAppSourceOptions): AppSource {
  const env = Object.fromEntries(Object.entries(options.env).filter(([k, v]) => k.startsWith('CELERIAC_') && v !== undefined));
  return { module: __filename, export: 'loadCliApp', args: [spec, { ...options, env }] };
}

/** Runs in the child: loads -A and settles settings; warnings were already shown by the worker. */
export async function loadCliApp(spec: string, options: CliAppSourceOptions): Promise<Celeriac> {
  const { app } = await loadApp(spec, { cwd: options.cwd });
  applySettings(app, options.env, options.overrides, () => undefined);
  if (app.conf.imports.length) await app.autodiscover(app.conf.imports, { cwd: options.cwd });
  return app;
}
