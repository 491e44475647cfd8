/**
 * The admin handlers as Express middleware (shared by the Express router and the Nest module): the
 * request is translated to an AdminRequest, the answer written from toHttpReply. Works on Express 4
 * and 5 (and Nest's Express platform).
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { toHttpReply, type AdminHandlers, type AdminRequest } from '../admin';

/** Where the admin sits in this request: the mount path as the client sees it, and the path below it. */
export interface AdminLocation {
  baseUrl: string;
  path: string;
}

/** Express's own split (router.use mounts): `req.baseUrl` and `req.path`. */
export const expressLocation = (req: Request): AdminLocation => ({ baseUrl: req.baseUrl, path: req.path });

function firstString(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

/** The AdminRequest of an Express request (query and headers flattened to single strings). */
export function toAdminRequest(req: Request, location: AdminLocation): AdminRequest {
  const query: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries((req.query ?? {}) as Record<string, unknown>)) query[key] = firstString(value);
  const headers: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(req.headers)) headers[key.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  // Express 4 leaves `{}` when no JSON parser ran; 5 leaves undefined.
  const body = req.body as unknown;
  return { method: req.method, path: location.path || '/', query, headers, body, baseUrl: location.baseUrl };
}

/** Middleware answering every request with the admin handlers; errors go to `next(err)`. */
export function adminMiddleware(admin: AdminHandlers, locate: (req: Request) => AdminLocation = expressLocation): RequestHandler {
  return (req: Request, res: Response, next: NextFunction): void => {
    admin
      .handle(toAdminRequest(req, locate(req)))
      .then((response) => {
        const reply = toHttpReply(response);
        res.status(reply.status);
        for (const [name, value] of Object.entries(reply.headers)) res.setHeader(name, value);
        res.end(reply.body);
      })
      .catch(next);
  };
}
