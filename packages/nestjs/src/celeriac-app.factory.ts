import { Celeriac, ConfigError, loadConfig } from '@celeriac/core';
import { DEFAULT_ENV_PREFIX } from './celeriac.constants';
import { CELERIAC_ROLES, type CeleriacModuleOptions, type CeleriacRole } from './celeriac.module-definition';

/** The roles of the options, checked. */
export function resolveRoles(options: CeleriacModuleOptions): CeleriacRole[] {
  const roles = options.roles ?? ['producer'];
  if (!Array.isArray(roles)) throw new ConfigError('roles', `roles must be an array of ${CELERIAC_ROLES.join(', ')}, got ${JSON.stringify(roles)}.`);
  for (const role of roles) {
    if (!CELERIAC_ROLES.includes(role)) throw new ConfigError('roles', `Unknown role ${JSON.stringify(role)}: roles are ${CELERIAC_ROLES.join(', ')}.`);
  }
  return roles;
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
