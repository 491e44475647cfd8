/**
 * Express is a peer dependency and the package's imports of it are types only; the router needs its
 * runtime (Router, json) and loads the application's copy when a router is created.
 */
import type * as ExpressModule from 'express';

export type Express = typeof ExpressModule;

export function loadExpress(): Express {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- peer dependency, loaded on use
  return require('express') as Express;
}
