/**
 * Routing (Celery's task_routes, celery/app/routes.py). The route found in taskRoutes (exact name, glob,
 * or router functions; first match wins) is merged under the options, key by key, as Celery's `lpmerge`
 * does: the call's queue/exchange/routingKey win, then the task's own queue, then the route; with no
 * queue or exchange at all the task goes to the default queue.
 */
import type { CeleriacSettings, RouteSpec, TaskRoutes } from './settings';

export interface ResolvedRoute {
  /** The queue to declare and publish to; null when only an exchange was given. */
  queue: string | null;
  exchange: string;
  routingKey: string;
  priority?: number;
  /**
   * Where the message is published: the default exchange "" with the queue name as routing key (what
   * Celery does for queue routes), or the route's exchange and routing key when the route names one.
   */
  publish: { exchange: string; routingKey: string };
  /** A broadcast queue (taskQueues with exchangeType fanout): every worker consuming it gets the task. */
  broadcast?: boolean;
}

export interface RouteRequest {
  name: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  queue?: string;
  exchange?: string;
  routingKey?: string;
  taskQueue?: string;
}

const globCache = new Map<string, RegExp>();
/** fnmatch-style glob ('*' and '?') as an anchored RegExp, cached. */
export function globToRegExp(glob: string): RegExp {
  let re = globCache.get(glob);
  if (!re) {
    re = new RegExp('^' + glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$');
    globCache.set(glob, re);
  }
  return re;
}

function lookup(routes: TaskRoutes, req: RouteRequest): RouteSpec | undefined {
  const list = Array.isArray(routes) ? routes : [routes];
  for (const router of list) {
    if (typeof router === 'function') {
      const r = router(req.name, req.args, req.kwargs);
      if (r) return typeof r === 'string' ? { queue: r } : r;
      continue;
    }
    // Own keys only: a task named "constructor" must not find Object.prototype.constructor.
    if (Object.hasOwn(router, req.name)) {
      const exact = router[req.name];
      return typeof exact === 'string' ? { queue: exact } : exact;
    }
    for (const [pattern, spec] of Object.entries(router)) {
      // Like Celery's MapRoute, only a key containing '*' is a pattern (fnmatch: '*' and '?').
      if (pattern.includes('*') && globToRegExp(pattern).test(req.name)) {
        return typeof spec === 'string' ? { queue: spec } : spec;
      }
    }
  }
  return undefined;
}

/** Where a task call goes. */
export function resolveRoute(settings: CeleriacSettings, req: RouteRequest): ResolvedRoute {
  // Celery passes the task's own queue among the call options, so both beat task_routes (lpmerge).
  const options: RouteSpec = {};
  const queue = req.queue || req.taskQueue;
  if (queue) options.queue = queue;
  if (req.exchange) options.exchange = req.exchange;
  if (req.routingKey) options.routingKey = req.routingKey;
  const found = settings.taskRoutes ? lookup(settings.taskRoutes, req) : undefined;
  const spec: RouteSpec = { ...found, ...options };
  if (!spec.queue && !spec.exchange) {
    const q = settings.taskDefaultQueue;
    return { queue: q, exchange: settings.taskDefaultExchange, routingKey: settings.taskDefaultRoutingKey, priority: spec.priority, publish: { exchange: '', routingKey: q } };
  }
  if (spec.queue) {
    const declared = settings.taskQueues?.find((q) => q.name === spec.queue);
    if (declared?.exchangeType === 'fanout') {
      // Celery's Broadcast queue: published to its fanout exchange, each worker has a queue of its own.
      const exchange = declared.exchange ?? declared.name;
      return { queue: null, exchange, routingKey: '', priority: spec.priority, publish: { exchange, routingKey: '' }, broadcast: true };
    }
    const isDefault = spec.queue === settings.taskDefaultQueue;
    const exchange = spec.exchange ?? (isDefault ? settings.taskDefaultExchange : spec.queue);
    const routingKey = spec.routingKey ?? (isDefault ? settings.taskDefaultRoutingKey : spec.queue);
    return {
      queue: spec.queue,
      exchange,
      routingKey,
      priority: spec.priority,
      publish: spec.exchange ? { exchange, routingKey } : { exchange: '', routingKey: spec.queue },
    };
  }
  const routingKey = spec.routingKey ?? req.name;
  return { queue: null, exchange: spec.exchange!, routingKey, priority: spec.priority, publish: { exchange: spec.exchange!, routingKey } };
}
