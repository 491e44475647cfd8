/**
 * `beatAdminRouter(options)`: the beat admin (page and REST API) as an Express router, for Express 4
 * and 5. It parses JSON bodies itself (with a size limit) and answers every path below its mount.
 */
import { ConfigError } from '@celeriac/core';
import type { ErrorRequestHandler, Router } from 'express';
import { createAdminHandlers, safeJson, SECURITY_HEADERS, type AdminErrorBody, type BeatAdminOptions } from '../admin';
import { adminMiddleware } from './admin-middleware';
import { loadExpress } from './load-express';

/** Options of `beatAdminRouter`: the admin's options plus the body limit. */
export interface BeatAdminRouterOptions extends BeatAdminOptions {
  /** Largest JSON body accepted, as `express.json({ limit })` takes it. @defaultValue '256kb' */
  jsonLimit?: string | number;
}

/** Body-parser failures (malformed JSON, too large) as the admin's error shape. */
export const bodyErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
  const e = err as { type?: unknown; status?: unknown; message?: unknown } | null;
  if (!e || typeof e.type !== 'string' || !e.type.startsWith('entity.') || typeof e.status !== 'number' || e.status < 400 || e.status >= 500) {
    next(err);
    return;
  }
  const body: AdminErrorBody = {
    error: { code: e.status === 413 ? 'PAYLOAD_TOO_LARGE' : 'BAD_REQUEST', message: typeof e.message === 'string' ? e.message : 'Bad request body.', fields: { body: 'not readable as JSON' } },
  };
  res.status(e.status);
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(safeJson(body));
};

/**
 * The beat admin router. Mount it where the page should live; configure `auth` or every request is refused.
 * @example
 * server.use('/admin/periodic-tasks', beatAdminRouter({ dataSource, app: celeriac, auth: { basic: { username: 'ops', password: process.env.BEAT_ADMIN_PASSWORD! } } }));
 */
export function beatAdminRouter(options: BeatAdminRouterOptions): Router {
  const { jsonLimit = '256kb', ...adminOptions } = options;
  if (typeof jsonLimit !== 'string' && (typeof jsonLimit !== 'number' || !(jsonLimit > 0))) throw new ConfigError('jsonLimit', "jsonLimit must be a size such as '256kb' or a number of bytes.");
  const admin = createAdminHandlers(adminOptions);
  const express = loadExpress();
  const router = express.Router();
  router.use(express.json({ limit: jsonLimit, strict: true }));
  router.use(adminMiddleware(admin));
  router.use(bodyErrors);
  return router;
}
