/** Picks and builds the worker's pool from its options. */
import type { Celeriac } from '../../app/celeriac';
import { ConfigError } from '../../errors';
import type { Executor } from '../executor';
import { AsyncPool } from './async-pool';
import { ChildPool } from './child-pool';
import { POOL_KINDS, type AppSource, type Pool, type PoolKind } from './pool';
import { processSpawner } from './process-pool';
import { threadSpawner } from './thread-pool';

export interface CreatePoolOptions {
  kind: PoolKind;
  /** Size at start (autoscale: its min). */
  size: number;
  hostname: string;
  appSource?: AppSource;
  maxTasksPerChild?: number;
  maxMemoryPerChild?: number;
}

export function createPool(app: Celeriac, executor: Executor, options: CreatePoolOptions): Pool {
  const { kind } = options;
  if (!POOL_KINDS.includes(kind)) throw new ConfigError('pool', `Unknown pool '${String(kind)}': use ${POOL_KINDS.join(', ')}.`);
  for (const key of ['maxTasksPerChild', 'maxMemoryPerChild'] as const) {
    const value = options[key];
    if (value !== undefined && !(Number.isInteger(value) && value >= 1)) throw new ConfigError(key, `${key} must be an integer >= 1 (got ${String(value)}).`);
  }
  if (kind === 'async') return new AsyncPool(executor, options.size);
  if (!options.appSource) {
    throw new ConfigError(
      'appSource',
      `pool '${kind}' needs appSource: a module each ${kind === 'threads' ? 'thread' : 'process'} imports to build the same app ` +
        `(e.g. { module: require.resolve('./worker-app'), export: 'app' }; the CLI sets it from -A).`,
    );
  }
  const spawner = kind === 'threads' ? threadSpawner(app.logger) : processSpawner(app.logger);
  return new ChildPool(
    kind,
    spawner,
    { appSource: options.appSource, size: options.size, hostname: options.hostname, maxTasksPerChild: options.maxTasksPerChild, maxMemoryPerChild: options.maxMemoryPerChild },
    { app, executor, hostname: options.hostname },
  );
}
