/** `celeriacMiddleware({ app })`: attaches the app to every request as `req.celeriac`. */
import type { Celeriac } from '@celeriac/core';
import type { RequestHandler } from 'express';
import { validateMiddlewareOptions, type CeleriacMiddlewareOptions } from './options';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own augmentation point
  namespace Express {
    interface Request {
      /** The Celeriac app, set by `celeriacMiddleware({ app })`. */
      celeriac: Celeriac;
    }
  }
}

/**
 * Middleware that sets `req.celeriac` so handlers can send tasks and read results.
 * @example
 * server.use(celeriacMiddleware({ app: celeriac }));
 * server.post('/reports', async (req, res) => res.status(202).json({ id: (await req.celeriac.sendTask('reports.build', [req.body.month])).id }));
 */
export function celeriacMiddleware(options: CeleriacMiddlewareOptions): RequestHandler {
  const { app } = validateMiddlewareOptions(options);
  return (req, _res, next) => {
    req.celeriac = app;
    next();
  };
}
