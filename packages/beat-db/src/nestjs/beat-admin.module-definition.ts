/**
 * BeatAdminModule's options: `forRoot({ path, ...BeatAdminOptions })` or `forRootAsync({ path, imports,
 * inject, useFactory })`. `path` and `jsonLimit` are static (the middleware route is fixed when the
 * module is configured); the admin options may come from DI (DataSource, Celeriac app, secrets).
 */
import { ConfigError } from '@celeriac/core';
import { ConfigurableModuleBuilder, type Provider } from '@nestjs/common';
import type { BeatAdminOptions } from '../admin';

/** Where the admin is mounted and how large a body it reads. */
export interface BeatAdminMount {
  /** @defaultValue '/admin/periodic-tasks' */
  path: string;
  /** @defaultValue '256kb' */
  jsonLimit: string | number;
}

/** Where BeatAdminModule mounts the admin unless `path` says otherwise. */
export const DEFAULT_ADMIN_PATH = '/admin/periodic-tasks';
/** Injection token of the mount (path, jsonLimit). */
export const BEAT_ADMIN_MOUNT = Symbol.for('celeriac:beat-admin:mount');
/** Injection token of the admin handlers (`AdminHandlers`), e.g. to serve them from your own controller. */
export const BEAT_ADMIN_HANDLERS = Symbol.for('celeriac:beat-admin:handlers');

function mountOf(extras: Partial<BeatAdminMount>): BeatAdminMount {
  const path = extras.path ?? DEFAULT_ADMIN_PATH;
  if (typeof path !== 'string' || !/^(\/[A-Za-z0-9._~-]+)+$/.test(path)) {
    throw new ConfigError('path', `BeatAdminModule path must be a plain path such as "${DEFAULT_ADMIN_PATH}" (no wildcards, no trailing slash), got ${JSON.stringify(path)}.`);
  }
  const jsonLimit = extras.jsonLimit ?? '256kb';
  if (typeof jsonLimit !== 'string' && (typeof jsonLimit !== 'number' || !(jsonLimit > 0))) throw new ConfigError('jsonLimit', "jsonLimit must be a size such as '256kb' or a number of bytes.");
  return { path, jsonLimit };
}

export const {
  ConfigurableModuleClass,
  MODULE_OPTIONS_TOKEN: BEAT_ADMIN_OPTIONS,
  OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<BeatAdminOptions>({ moduleName: 'BeatAdmin' })
  .setClassMethodName('forRoot')
  .setExtras<Partial<BeatAdminMount>>({ path: DEFAULT_ADMIN_PATH, jsonLimit: '256kb' }, (definition, extras) => {
    const mount: Provider = { provide: BEAT_ADMIN_MOUNT, useValue: mountOf(extras) };
    return { ...definition, providers: [...(definition.providers ?? []), mount] };
  })
  .build();

/** `BeatAdminModule.forRoot()` options: `path`, `jsonLimit` and the admin's options. */
export type BeatAdminModuleOptions = typeof OPTIONS_TYPE;
/** `BeatAdminModule.forRootAsync()` options: `path`, `jsonLimit`, imports, inject, useFactory | useClass | useExisting. */
export type BeatAdminModuleAsyncOptions = typeof ASYNC_OPTIONS_TYPE;
