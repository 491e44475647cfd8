/**
 * The admin handlers as Nest middleware on the Express platform. The admin's sub-path is read from the
 * original URL, so a global prefix (`app.setGlobalPrefix('api')`) in front of the mount works too.
 */
import { Inject, Injectable, type NestMiddleware } from '@nestjs/common';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AdminHandlers } from '../admin';
import { adminMiddleware, type AdminLocation } from '../express/admin-middleware';
import { bodyErrors } from '../express/beat-admin-router';
import { loadExpress } from '../express/load-express';
import { BEAT_ADMIN_HANDLERS, BEAT_ADMIN_MOUNT, type BeatAdminMount } from './beat-admin.module-definition';

/** Splits the URL's path at the mount path (which must end there or at a '/'). */
export function locateMount(url: string, mountPath: string): AdminLocation {
  const pathname = url.split('?')[0] ?? '/';
  for (let i = pathname.indexOf(mountPath); i >= 0; i = pathname.indexOf(mountPath, i + 1)) {
    const end = i + mountPath.length;
    if (end === pathname.length || pathname[end] === '/') return { baseUrl: pathname.slice(0, end), path: pathname.slice(end) || '/' };
  }
  return { baseUrl: mountPath, path: pathname };
}

/** Nest middleware serving the admin handlers below the module's path (JSON bodies parsed if Nest did not). */
@Injectable()
export class BeatAdminMiddleware implements NestMiddleware {
  private readonly json: RequestHandler;
  private readonly admin: RequestHandler;

  constructor(@Inject(BEAT_ADMIN_HANDLERS) handlers: AdminHandlers, @Inject(BEAT_ADMIN_MOUNT) mount: BeatAdminMount) {
    // Skipped by body-parser when Nest already parsed the body (its default); needed when bodyParser is off.
    this.json = loadExpress().json({ limit: mount.jsonLimit, strict: true });
    this.admin = adminMiddleware(handlers, (req) => locateMount(req.originalUrl ?? req.url, mount.path));
  }

  use(req: Request, res: Response, next: NextFunction): void {
    this.json(req, res, (err?: unknown) => {
      if (err) bodyErrors(err, req, res, next);
      else this.admin(req, res, next);
    });
  }
}
