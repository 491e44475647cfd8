/**
 * The admin, framework-free: `createAdminHandlers(options).handle(request)` answers `{ status, body }`.
 * Every request is authenticated (refused when no auth is configured), state-changing ones need the
 * CSRF header unless they came with the bearer token, then the route runs. Adapters (Express router,
 * Nest middleware) only translate requests and write `toHttpReply(response)`.
 */
import { renderAdminPage } from './page';
import { AdminError } from './admin-error';
import { resolveAdminOptions, type BeatAdminOptions, type ResolvedAdminOptions } from './admin-options';
import { matchRoute, type RouteContext } from './admin-routes';
import type { AdminIdentity, AdminRequest, AdminResponse } from './admin-types';
import { authenticate } from './auth';
import { CSRF_HEADER, CSRF_METHODS, csrfTokenFor, defaultCsrfSecret, verifyCsrfToken } from './csrf';
import type { TaskNameCheck } from './validation';

/** The admin's request handler. */
export interface AdminHandlers {
  /** Answers one request; unexpected errors (database down...) reject, for the framework's error handler. */
  handle(req: AdminRequest): Promise<AdminResponse>;
  /** The CSRF token the page embeds for an actor (for custom pages and tests). */
  csrfToken(actor: string): string;
}

function taskNameCheck(options: ResolvedAdminOptions): TaskNameCheck {
  const allowed = options.allowedTasks ?? [];
  return {
    isAllowed: (name) =>
      options.allowAnyTask === true || (options.app?.tasks.has(name) ?? false) || allowed.some((a) => (typeof a === 'string' ? a === name : new RegExp(a.source, a.flags.replace('g', '')).test(name))),
    hint: options.app
      ? 'Register it on the app, list it in allowedTasks (names or RegExps, e.g. for Python tasks), or set allowAnyTask: true.'
      : 'No app was given: pass app, list the name in allowedTasks (names or RegExps), or set allowAnyTask: true.',
  };
}

/**
 * Creates the admin's handlers; the options are checked now (ConfigError naming a bad one).
 * @example
 * const admin = createAdminHandlers({ dataSource, app, auth: { basic: { username: 'ops', password: process.env.ADMIN_PASSWORD! } } });
 * const response = await admin.handle({ method: 'GET', path: '/api/periodic-tasks', query: {}, headers: { authorization } });
 */
export function createAdminHandlers(options: BeatAdminOptions): AdminHandlers {
  const resolved = resolveAdminOptions(options);
  const secret = resolved.csrfSecret ?? defaultCsrfSecret();
  const tasks = taskNameCheck(resolved);
  const knownTasks = (): string[] => {
    const names = new Set(resolved.app?.tasks.names() ?? []);
    for (const a of resolved.allowedTasks ?? []) if (typeof a === 'string') names.add(a);
    return [...names].sort();
  };

  const page = (req: AdminRequest, identity: AdminIdentity): AdminResponse => ({
    status: 200,
    contentType: 'text/html; charset=utf-8',
    body: renderAdminPage({ basePath: resolved.basePath ?? (req.baseUrl ?? '').replace(/\/+$/, ''), csrfToken: csrfTokenFor(secret, identity.actor), actor: identity.actor, ...(resolved.title ? { title: resolved.title } : {}) }),
  });

  async function handle(req: AdminRequest): Promise<AdminResponse> {
    // HEAD is answered as GET; the server leaves the body out.
    const method = req.method.toUpperCase() === 'HEAD' ? 'GET' : req.method.toUpperCase();
    const path = '/' + req.path.split('/').filter(Boolean).join('/');
    try {
      const identity = await authenticate(req, resolved.auth);
      if (CSRF_METHODS.has(method) && !identity.viaToken && !verifyCsrfToken(secret, identity.actor, req.headers[CSRF_HEADER])) {
        throw new AdminError(403, 'CSRF', `Missing or wrong ${CSRF_HEADER} header: reload the admin page (scripts: use the bearer token).`);
      }
      const { route, params } = matchRoute(method, path);
      const ctx: RouteContext = { req, identity, params, dataSource: resolved.dataSource, app: resolved.app, tasks, knownTasks, page: () => page(req, identity) };
      return await route.run(ctx);
    } catch (err) {
      if (err instanceof AdminError) return err.toResponse();
      throw err;
    }
  }

  return { handle, csrfToken: (actor) => csrfTokenFor(secret, actor) };
}
