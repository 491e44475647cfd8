/**
 * Options of the admin (`createAdminHandlers`, `beatAdminRouter`, `BeatAdminModule`), validated when
 * the handlers are created: an unknown key or a bad value throws a ConfigError naming it.
 */
import { ConfigError, type Celeriac } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import type { AdminIdentity, AdminRequest } from './admin-types';

/** One user of basic auth. */
export interface BasicCredentials {
  username: string;
  password: string;
}

/**
 * Who may use the admin. With none of the three, every request is refused (403) with a message saying
 * how to configure one. Methods are tried in order: bearer token, basic auth, then `authorize`.
 */
export interface AdminAuthOptions {
  /** Basic auth (the browser prompts for it): one user or several. The actor is the username. */
  basic?: BasicCredentials | BasicCredentials[];
  /** A bearer token (`Authorization: Bearer <token>`) for scripts; no CSRF header needed. Actor 'token'. */
  token?: string;
  /** Your own check (session cookie, SSO header...): an identity, or null to refuse (403). */
  authorize?: (req: AdminRequest) => AdminIdentity | null | Promise<AdminIdentity | null>;
}

/** Options of the admin handlers. */
export interface BeatAdminOptions {
  /** An initialized TypeORM DataSource with beat-db's entities (createBeatDataSource or your own). */
  dataSource: DataSource;
  /** The app that sends "run now" messages and whose registered tasks the form accepts. */
  app?: Celeriac;
  /** Task names accepted besides the app's registered ones (e.g. tasks defined in Python). */
  allowedTasks?: Array<string | RegExp>;
  /** Accept any task name. @defaultValue false */
  allowAnyTask?: boolean;
  /** Who may use the admin; required in practice (see AdminAuthOptions). */
  auth?: AdminAuthOptions;
  /**
   * Secret of the CSRF tokens (HMAC of the actor). Replicas behind a load balancer need the same one,
   * or a page served by one is refused by another. @defaultValue random, per process
   */
  csrfSecret?: string;
  /** The admin's URL path as the browser sees it, e.g. behind a proxy. @defaultValue the adapter's mount path */
  basePath?: string;
  /** Title of the page. @defaultValue 'Periodic tasks' */
  title?: string;
}

const KEYS = new Set(['dataSource', 'app', 'allowedTasks', 'allowAnyTask', 'auth', 'csrfSecret', 'basePath', 'title']);
const AUTH_KEYS = new Set(['basic', 'token', 'authorize']);

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

function checkBasic(basic: unknown): BasicCredentials[] | undefined {
  if (basic === undefined) return undefined;
  const list = Array.isArray(basic) ? (basic as unknown[]) : [basic];
  if (!list.length) throw new ConfigError('auth.basic', 'auth.basic is an empty list: give { username, password } or leave it out.');
  return list.map((c, i) => {
    if (!isObject(c) || typeof c.username !== 'string' || !c.username || c.username.includes(':') || typeof c.password !== 'string' || !c.password) {
      throw new ConfigError(`auth.basic[${i}]`, 'auth.basic needs { username, password }: non-empty strings, no ":" in the username.');
    }
    return { username: c.username, password: c.password };
  });
}

/** Options after validation. */
export interface ResolvedAdminOptions extends Omit<BeatAdminOptions, 'auth'> {
  auth: { basic?: BasicCredentials[]; token?: string; authorize?: AdminAuthOptions['authorize'] };
}

/** Validates the options; throws ConfigError naming the first bad key. */
export function resolveAdminOptions(options: BeatAdminOptions): ResolvedAdminOptions {
  if (!isObject(options)) throw new ConfigError('options', 'The beat admin needs an options object: { dataSource, auth, app? }.');
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new ConfigError(key, `Unknown beat admin option "${key}": expected ${[...KEYS].join(', ')}.`);
  }
  const ds = options.dataSource as unknown;
  if (!isObject(ds) || typeof ds.getRepository !== 'function' || typeof ds.transaction !== 'function') {
    throw new ConfigError('dataSource', 'dataSource must be a TypeORM DataSource with beat-db entities (createBeatDataSource() or your own with BEAT_DB_ENTITIES).');
  }
  if (options.app !== undefined && !(isObject(options.app) && typeof options.app.sendTask === 'function')) throw new ConfigError('app', 'app must be a Celeriac app.');
  if (options.allowedTasks !== undefined && (!Array.isArray(options.allowedTasks) || options.allowedTasks.some((t) => typeof t !== 'string' && !(t instanceof RegExp)))) {
    throw new ConfigError('allowedTasks', 'allowedTasks must be an array of task names and RegExps.');
  }
  if (options.allowAnyTask !== undefined && typeof options.allowAnyTask !== 'boolean') throw new ConfigError('allowAnyTask', 'allowAnyTask must be a boolean.');
  if (options.csrfSecret !== undefined && (typeof options.csrfSecret !== 'string' || options.csrfSecret.length < 16)) {
    throw new ConfigError('csrfSecret', 'csrfSecret must be a string of at least 16 characters (e.g. 32 random bytes, hex).');
  }
  if (options.basePath !== undefined && (typeof options.basePath !== 'string' || (options.basePath !== '' && !options.basePath.startsWith('/')))) {
    throw new ConfigError('basePath', 'basePath must be a path starting with "/", e.g. "/admin/periodic-tasks".');
  }
  if (options.title !== undefined && typeof options.title !== 'string') throw new ConfigError('title', 'title must be a string.');
  const auth = options.auth as unknown;
  if (auth !== undefined && !isObject(auth)) throw new ConfigError('auth', 'auth must be an object: { basic }, { token } or { authorize }.');
  for (const key of Object.keys(auth ?? {})) {
    if (!AUTH_KEYS.has(key)) throw new ConfigError(`auth.${key}`, `Unknown auth option "${key}": expected basic, token or authorize.`);
  }
  const a = (auth ?? {}) as AdminAuthOptions;
  if (a.token !== undefined && (typeof a.token !== 'string' || a.token.length < 16)) throw new ConfigError('auth.token', 'auth.token must be a string of at least 16 characters.');
  if (a.authorize !== undefined && typeof a.authorize !== 'function') throw new ConfigError('auth.authorize', 'auth.authorize must be a function (req) => identity | null.');
  return {
    ...options,
    basePath: options.basePath?.replace(/\/+$/, ''),
    auth: { basic: checkBasic(a.basic), token: a.token, authorize: a.authorize },
  };
}
