import { resolveRoute, type RouteRequest } from '../../src/app/router';
import type { TaskRoutes } from '../../src/app/settings';
import { validateSettings } from '../../src/app/validate-settings';

const settings = (taskRoutes?: TaskRoutes, extra: Parameters<typeof validateSettings>[0] = {}) => validateSettings({ taskRoutes, ...extra });
const req = (name: string, more: Partial<RouteRequest> = {}): RouteRequest => ({ name, args: [], kwargs: {}, ...more });

/** Queue routes publish to the default exchange "" with the queue name as routing key, as Celery does. */
const DEFAULT = { queue: 'celery', exchange: 'celery', routingKey: 'celery', priority: undefined, publish: { exchange: '', routingKey: 'celery' } };
/** A queue Celery creates on demand (task_create_missing_queues): exchange and routing key named after it. */
const auto = (queue: string, priority?: number) => ({ queue, exchange: queue, routingKey: queue, priority, publish: { exchange: '', routingKey: queue } });

describe('resolveRoute: default route', () => {
  it('sends a task with no route to the default queue', () => {
    expect(resolveRoute(settings(), req('tasks.add'))).toEqual(DEFAULT);
  });

  it('uses the configured default queue, exchange and routing key', () => {
    const s = settings(undefined, { taskDefaultQueue: 'jobs', taskDefaultExchange: 'jobs-x', taskDefaultRoutingKey: 'jobs-rk' });
    expect(resolveRoute(s, req('tasks.add'))).toEqual({ queue: 'jobs', exchange: 'jobs-x', routingKey: 'jobs-rk', priority: undefined, publish: { exchange: '', routingKey: 'jobs' } });
  });

  it('routing to the default queue by name keeps the default exchange and key', () => {
    expect(resolveRoute(settings({ 'tasks.add': 'celery' }), req('tasks.add'))).toEqual(DEFAULT);
  });

  it('a route with only a priority keeps the default queue and carries the priority', () => {
    expect(resolveRoute(settings({ 'tasks.add': { priority: 5 } }), req('tasks.add'))).toEqual({ ...DEFAULT, priority: 5 });
  });

  it('a routing key alone does not leave the default queue', () => {
    expect(resolveRoute(settings(), req('tasks.add', { routingKey: 'rk' }))).toEqual(DEFAULT);
  });
});

describe('resolveRoute: exact and glob routes (Celery MapRoute)', () => {
  it('routes an exact name, as a queue name or a route object', () => {
    expect(resolveRoute(settings({ 'tasks.add': 'math' }), req('tasks.add'))).toEqual(auto('math'));
    expect(resolveRoute(settings({ 'tasks.add': { queue: 'math', priority: 3 } }), req('tasks.add'))).toEqual(auto('math', 3));
    expect(resolveRoute(settings({ 'tasks.add': 'math' }), req('tasks.mul'))).toEqual(DEFAULT);
  });

  it('routes by glob', () => {
    const s = settings({ 'billing.*': { queue: 'billing' }, '*.report': 'reports' });
    expect(resolveRoute(s, req('billing.charge'))).toEqual(auto('billing'));
    expect(resolveRoute(s, req('billing.refund.partial'))).toEqual(auto('billing'));
    expect(resolveRoute(s, req('sales.report'))).toEqual(auto('reports'));
    expect(resolveRoute(s, req('billingx'))).toEqual(DEFAULT);
  });

  it('treats regex characters in a glob literally', () => {
    const s = settings({ 'a.b+c.*': 'q' });
    expect(resolveRoute(s, req('a.b+c.x'))).toEqual(auto('q'));
    expect(resolveRoute(s, req('aXbbc.x'))).toEqual(DEFAULT);
  });

  it("supports '?' inside a pattern, but a key without '*' is an exact name (as in Celery)", () => {
    const s = settings({ 'job.v?.*': 'versioned', 'task?': 'literal' });
    expect(resolveRoute(s, req('job.v2.run'))).toEqual(auto('versioned'));
    expect(resolveRoute(s, req('taskX'))).toEqual(DEFAULT);
    expect(resolveRoute(s, req('task?'))).toEqual(auto('literal'));
  });

  it('prefers the exact name over a matching glob, whatever the key order', () => {
    const s = settings({ 'billing.*': 'billing', 'billing.urgent': 'urgent' });
    expect(resolveRoute(s, req('billing.urgent'))).toEqual(auto('urgent'));
  });

  it('takes the first matching glob in insertion order', () => {
    const s = settings({ 'a.*': 'first', 'a.b.*': 'second' });
    expect(resolveRoute(s, req('a.b.c'))).toEqual(auto('first'));
  });

  it('does not find inherited properties for tasks named like them', () => {
    const s = settings({ 'x.*': 'x' });
    expect(resolveRoute(s, req('constructor'))).toEqual(DEFAULT);
    expect(resolveRoute(s, req('toString'))).toEqual(DEFAULT);
  });
});

describe('resolveRoute: router functions and lists', () => {
  it('calls a router function with name, args and kwargs', () => {
    const router = jest.fn((name: string, args: unknown[], kwargs: Record<string, unknown>) => (name === 'tasks.add' && args[0] === 1 && kwargs.big ? 'big' : null));
    expect(resolveRoute(settings(router), req('tasks.add', { args: [1], kwargs: { big: true } }))).toEqual(auto('big'));
    expect(router).toHaveBeenCalledWith('tasks.add', [1], { big: true });
    expect(resolveRoute(settings(router), req('tasks.add', { args: [2] }))).toEqual(DEFAULT);
  });

  it('accepts a route object from a router function', () => {
    expect(resolveRoute(settings(() => ({ queue: 'fn', routingKey: 'fn.rk' })), req('t'))).toEqual({ queue: 'fn', exchange: 'fn', routingKey: 'fn.rk', priority: undefined, publish: { exchange: '', routingKey: 'fn' } });
  });

  it('consults a list in order; the first router that answers wins', () => {
    const calls: string[] = [];
    const routes: TaskRoutes = [
      (name) => {
        calls.push('fn1');
        return name.startsWith('a.') ? 'from-fn' : undefined;
      },
      { 'b.*': 'from-map', 'a.x': 'shadowed' },
      (name) => {
        calls.push('fn2');
        return name === 'c' ? { queue: 'last' } : null;
      },
    ];
    const s = settings(routes);
    expect(resolveRoute(s, req('a.x'))).toEqual(auto('from-fn'));
    expect(resolveRoute(s, req('b.y'))).toEqual(auto('from-map'));
    expect(resolveRoute(s, req('c'))).toEqual(auto('last'));
    expect(resolveRoute(s, req('d'))).toEqual(DEFAULT);
    expect(calls).toEqual(['fn1', 'fn1', 'fn1', 'fn2', 'fn1', 'fn2']);
  });
});

describe('resolveRoute: call options and the task queue (Celery lpmerge: options win key by key)', () => {
  const s = settings({ 'tasks.*': { queue: 'routed', priority: 5 } });

  it('a queue given in the call wins over routes and keeps the route priority', () => {
    expect(resolveRoute(s, req('tasks.add', { queue: 'call' }))).toEqual(auto('call', 5));
  });

  it("the task's own queue wins over taskRoutes, as in Celery 5.2.6", () => {
    expect(resolveRoute(s, req('tasks.add', { taskQueue: 'own' }))).toEqual(auto('own', 5));
  });

  it("the call's queue wins over the task's own queue", () => {
    expect(resolveRoute(s, req('tasks.add', { queue: 'call', taskQueue: 'own' }))).toEqual(auto('call', 5));
  });

  it("the task's own queue is used when no route matches", () => {
    expect(resolveRoute(settings(), req('other.task', { taskQueue: 'own' }))).toEqual(auto('own'));
  });

  it('a routing key in the call keeps the routed queue and overrides only the key', () => {
    expect(resolveRoute(s, req('tasks.add', { routingKey: 'rk' }))).toEqual({ queue: 'routed', exchange: 'routed', routingKey: 'rk', priority: 5, publish: { exchange: '', routingKey: 'routed' } });
  });

  it('an exchange and routing key in the call keep the routed queue', () => {
    expect(resolveRoute(s, req('tasks.add', { exchange: 'ex', routingKey: 'rk' }))).toEqual({ queue: 'routed', exchange: 'ex', routingKey: 'rk', priority: 5, publish: { exchange: 'ex', routingKey: 'rk' } });
  });

  it('router functions are still consulted when the call names a queue', () => {
    const fn = jest.fn(() => ({ priority: 9 }));
    expect(resolveRoute(settings(fn), req('t', { queue: 'call' }))).toEqual(auto('call', 9));
    expect(fn).toHaveBeenCalled();
  });
});

describe('resolveRoute: exchange-only routes', () => {
  it('a route with an exchange and routing key publishes there without a queue', () => {
    expect(resolveRoute(settings({ 'ev.*': { exchange: 'events', routingKey: 'ev.key' } }), req('ev.a'))).toEqual({ queue: null, exchange: 'events', routingKey: 'ev.key', priority: undefined, publish: { exchange: 'events', routingKey: 'ev.key' } });
  });

  it('an exchange without a routing key uses the task name as the key', () => {
    expect(resolveRoute(settings({ 'ev.*': { exchange: 'events' } }), req('ev.a'))).toEqual({ queue: null, exchange: 'events', routingKey: 'ev.a', priority: undefined, publish: { exchange: 'events', routingKey: 'ev.a' } });
  });

  it('an exchange given in the call', () => {
    expect(resolveRoute(settings(), req('t', { exchange: 'ex', routingKey: 'k' }))).toEqual({ queue: null, exchange: 'ex', routingKey: 'k', priority: undefined, publish: { exchange: 'ex', routingKey: 'k' } });
  });
});
