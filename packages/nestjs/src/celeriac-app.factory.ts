import { Celeriac, ConfigError, loadConfig } from '@celeriac/core';
import { DEFAULT_ENV_PREFIX } from './celeriac.constants';
import { CELERIAC_ROLES, type CeleriacModuleOptions, type CeleriacRole } from './celeriac.module-definition';

/** Roles imposed by the process that boots the Nest app (see forceRoles); undefined: from options/env. */
let forcedRoles: readonly CeleriacRole[] | undefined;

/**
 * Imposes the roles of every CeleriacModule booted from now on, whatever its options or environment
 * say: `celeriac worker --nest` runs the worker itself, so the module must not start a second one
 * (producer, plus beat with -B), and a pool child must only produce. Undefined lifts it.
 */
export function forceRoles(roles: readonly CeleriacRole[] | undefined): void {
  forcedRoles = roles ? [...roles] : undefined;
}

/**
 * The roles of the options, checked; when the options give none, `<envPrefix>ROLES` (e.g.
 * CELERIAC_ROLES=worker,beat), so one build runs as web, worker or beat per deployment.
 */
export function resolveRoles(options: CeleriacModuleOptions): CeleriacRole[] {
  if (forcedRoles) return [...forcedRoles];
  const { envPrefix = DEFAULT_ENV_PREFIX, env = process.env } = options;
  const variable = envPrefix === false ? undefined : `${envPrefix}ROLES`;
  const fromEnv = options.roles === undefined && variable ? env[variable] : undefined;
  const key = fromEnv === undefined ? 'roles' : variable!;
  const roles = options.roles ?? (fromEnv === undefined ? ['producer'] : fromEnv.split(',').map((r) => r.trim()).filter(Boolean));
  if (!Array.isArray(roles)) throw new ConfigError('roles', `roles must be an array of ${CELERIAC_ROLES.join(', ')}, got ${JSON.stringify(roles)}.`);
  if (!roles.length) throw new ConfigError(key, `${key} names no role: give one or more of ${CELERIAC_ROLES.join(', ')}.`);
  for (const role of roles) {
    if (!CELERIAC_ROLES.includes(role as CeleriacRole)) throw new ConfigError(key, `Unknown role ${JSON.stringify(role)} in ${key}: roles are ${CELERIAC_ROLES.join(', ')}.`);
  }
  return roles as CeleriacRole[];
}

/**
 * Builds the app: explicit settings win, environment variables (`<envPrefix><CELERY_NAME>`) fill the
 * settings left unset. A bad value throws a ConfigError naming the key or variable.
 */
export function createCeleriacApp(options: CeleriacModuleOptions): Celeriac {
  const { envPrefix = DEFAULT_ENV_PREFIX, env = process.env, roles: _roles, worker: _worker, beat: _beat, beatScheduler: _beatScheduler, ...settings } = options ?? {};
  resolveRoles(options ?? {});
  const fromEnv = envPrefix === false ? {} : loadConfig({ env, prefix: envPrefix });
  const explicit = Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
  return new Celeriac({ ...fromEnv, ...explicit });
}
