/** @celeriac/beat-db/express: the beat admin as an Express router. */
export { beatAdminRouter, bodyErrors, type BeatAdminRouterOptions } from './beat-admin-router';
export { adminMiddleware, toAdminRequest, expressLocation, type AdminLocation } from './admin-middleware';
