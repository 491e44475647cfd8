/** Builds the app inside a pool thread or process from an AppSource (see pool.ts). */
import { createRequire } from 'node:module';
import { isAbsolute, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Celeriac } from '../../app/celeriac';
import { ConfigError } from '../../errors';
import type { AppSource } from './pool';

export interface SourcedApp {
  app: Celeriac;
  /** Runs when the thread/process retires, after the app's own close. */
  close?: () => Promise<void>;
}

/** Duck-typed: the app may come from another copy of @celeriac/core. */
function looksLikeApp(value: unknown): value is Celeriac {
  const v = value as { conf?: unknown; tasks?: { get?: unknown } } | null;
  return !!v && typeof v === 'object' && !!v.conf && typeof v.tasks?.get === 'function';
}

function describe(source: AppSource): string {
  return `${source.module}${source.export ? `:${source.export}` : ''}`;
}

/** An absolute path as a file URL; a package name resolved from the cwd (the app's node_modules) when require can. */
function specifierOf(module: string): string {
  if (isAbsolute(module)) return pathToFileURL(module).href;
  try {
    return pathToFileURL(createRequire(join(process.cwd(), 'index.js')).resolve(module)).href;
  } catch {
    return module; // an ESM-only package, or a URL: import() resolves it
  }
}

export async function loadAppSource(source: AppSource): Promise<SourcedApp> {
  const mod = (await import(specifierOf(source.module))) as Record<string, unknown>;
  const name = source.export ?? 'default';
  // A CommonJS module imported from ESM has its exports under `default` as well.
  let value = name in mod ? mod[name] : (mod.default as Record<string, unknown> | undefined)?.[name];
  if (value === undefined) throw new ConfigError('appSource', `appSource ${describe(source)}: the module has no export "${name}".`);
  if (typeof value === 'function') value = await (value as (...args: unknown[]) => unknown)(...(source.args ?? []));
  if (looksLikeApp(value)) return { app: value };
  const sourced = value as Partial<SourcedApp> | null;
  if (sourced && looksLikeApp(sourced.app)) {
    if (sourced.close !== undefined && typeof sourced.close !== 'function') throw new ConfigError('appSource', `appSource ${describe(source)}: "close" is not a function.`);
    return { app: sourced.app, close: sourced.close };
  }
  throw new ConfigError('appSource', `appSource ${describe(source)} gave neither a Celeriac app nor { app, close? }.`);
}
