/**
 * Express is an optional peer dependency: imports of it are types only, and its runtime (Router,
 * json) is the application's copy, loaded when a router is created.
 */
import type * as ExpressModule from 'express';

export type Express = typeof ExpressModule;

export function loadExpress(): Express {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- peer dependency, loaded on use
    return require('express') as Express;
  } catch (err) {
    throw new Error('@celeriac/beat-db/express needs express (4.18+ or 5): npm install express.', { cause: err });
  }
}
