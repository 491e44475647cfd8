/**
 * One options object per entry point, validated at once: an unknown key or a bad value throws a
 * ConfigError naming the key, when the middleware/router/handler is created (not on first request).
 */
import { ConfigError, type Celeriac, type Worker } from '@celeriac/core';

/** Options of `celeriacMiddleware(...)`. */
export interface CeleriacMiddlewareOptions {
  /** The app attached to every request as `req.celeriac`. */
  app: Celeriac;
}

/** Options of `celeriacRouter(...)`. */
export interface CeleriacRouterOptions {
  /** The app that sends tasks and reads results. */
  app: Celeriac;
  /**
   * Task names `POST /tasks/:name` may send. Required: an array of names (`[]` exposes none), or
   * `'*'` to send any name (including tasks defined only on remote or Python workers).
   */
  tasks: readonly string[] | '*';
  /** Include stored tracebacks in `GET /tasks/:id` errors. @defaultValue false */
  exposeTracebacks?: boolean;
  /** Largest JSON body accepted, as `express.json({ limit })` takes it. @defaultValue '100kb' */
  jsonLimit?: string | number;
  /** Offer `POST /tasks/:id/revoke` (broadcast to every worker). @defaultValue true */
  revoke?: boolean;
}

/** Where signals come from and how the process exits; `process` unless injected (tests). */
export interface SignalSource {
  on(event: string, listener: (signal: string) => void): unknown;
  removeListener(event: string, listener: (signal: string) => void): unknown;
  exit?(code?: number): void;
}

/** The part of an http(s) server that `closeOnSignals` uses. */
export interface ClosableServer {
  close(callback?: (err?: Error) => void): unknown;
  closeIdleConnections?(): void;
}

/** Options of `closeOnSignals(...)`. */
export interface CloseOnSignalsOptions {
  /** The HTTP server to stop accepting connections. */
  server: ClosableServer;
  /** The app whose broker and backend connections are closed last. */
  app: Celeriac;
  /** An in-process worker to warm-close (running tasks finish) before the app closes. */
  worker?: Worker;
  /** @defaultValue ['SIGTERM', 'SIGINT'] */
  signals?: readonly NodeJS.Signals[];
  /** Longest the whole shutdown may take before the worker is cold-closed and the process exits 1. @defaultValue 30000 */
  timeoutMs?: number;
  /** Call `process.exit` when done (0, or 1 after a failure/timeout). @defaultValue true */
  exit?: boolean;
  /** The signal source and exit function. @defaultValue the global `process` */
  process?: SignalSource;
}

type Checker = (key: string, value: unknown) => void;

const bad = (key: string, message: string): never => {
  throw new ConfigError(key, message);
};

function checkKeys(where: string, options: unknown, checkers: Record<string, Checker>, required: readonly string[]): Record<string, unknown> {
  if (!options || typeof options !== 'object' || Array.isArray(options)) bad('options', `${where} takes one options object.`);
  const record = options as Record<string, unknown>;
  const known = Object.keys(checkers);
  for (const key of Object.keys(record)) {
    if (!known.includes(key)) bad(key, `${where}: unknown option "${key}". Known options: ${known.join(', ')}.`);
  }
  for (const key of required) {
    if (record[key] === undefined) bad(key, `${where}: option "${key}" is required.`);
  }
  for (const [key, check] of Object.entries(checkers)) {
    if (record[key] !== undefined) check(key, record[key]);
  }
  return record;
}

const isApp: Checker = (key, value) => {
  const app = value as Partial<Celeriac> | null;
  if (!app || typeof app !== 'object' || typeof app.sendTask !== 'function' || typeof app.asyncResult !== 'function' || typeof app.close !== 'function') bad(key, `Option "${key}" must be a Celeriac app (new Celeriac(...)).`);
};

export function validateMiddlewareOptions(options: CeleriacMiddlewareOptions): CeleriacMiddlewareOptions {
  checkKeys('celeriacMiddleware', options, { app: isApp }, ['app']);
  return options;
}

export function validateRouterOptions(options: CeleriacRouterOptions): Required<Omit<CeleriacRouterOptions, 'tasks'>> & { tasks: ReadonlySet<string> | '*' } {
  checkKeys(
    'celeriacRouter',
    options,
    {
      app: isApp,
      tasks: (key, value) => {
        if (value === '*') return;
        if (!Array.isArray(value)) bad(key, `Option "${key}" must be an array of task names, or '*' to allow any task.`);
        for (const name of value as unknown[]) {
          if (typeof name !== 'string' || !name) bad(key, `Option "${key}" must hold non-empty task names, got ${JSON.stringify(name)}.`);
        }
      },
      exposeTracebacks: (key, value) => {
        if (typeof value !== 'boolean') bad(key, `Option "${key}" must be a boolean.`);
      },
      jsonLimit: (key, value) => {
        if (!(typeof value === 'string' && value) && !(typeof value === 'number' && Number.isFinite(value) && value > 0)) bad(key, `Option "${key}" must be a size such as '100kb' or a number of bytes.`);
      },
      revoke: (key, value) => {
        if (typeof value !== 'boolean') bad(key, `Option "${key}" must be a boolean.`);
      },
    },
    ['app', 'tasks'],
  );
  return {
    app: options.app,
    tasks: options.tasks === '*' ? '*' : new Set(options.tasks),
    exposeTracebacks: options.exposeTracebacks ?? false,
    jsonLimit: options.jsonLimit ?? '100kb',
    revoke: options.revoke ?? true,
  };
}

export function validateCloseOnSignalsOptions(options: CloseOnSignalsOptions): Required<Omit<CloseOnSignalsOptions, 'worker'>> & { worker: Worker | undefined } {
  checkKeys(
    'closeOnSignals',
    options,
    {
      server: (key, value) => {
        if (!value || typeof (value as ClosableServer).close !== 'function') bad(key, `Option "${key}" must be a server with close() (what app.listen() returns).`);
      },
      app: isApp,
      worker: (key, value) => {
        if (!value || typeof (value as Worker).close !== 'function') bad(key, `Option "${key}" must be a Worker.`);
      },
      signals: (key, value) => {
        if (!Array.isArray(value) || !value.length || !value.every((s) => typeof s === 'string' && /^SIG[A-Z0-9]+$/.test(s))) bad(key, `Option "${key}" must be a non-empty array of signal names such as 'SIGTERM'.`);
      },
      timeoutMs: (key, value) => {
        if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) bad(key, `Option "${key}" must be a number of milliseconds > 0.`);
      },
      exit: (key, value) => {
        if (typeof value !== 'boolean') bad(key, `Option "${key}" must be a boolean.`);
      },
      process: (key, value) => {
        const source = value as SignalSource | null;
        if (!source || typeof source.on !== 'function' || typeof source.removeListener !== 'function') bad(key, `Option "${key}" must have on() and removeListener() (an EventEmitter or process).`);
      },
    },
    ['server', 'app'],
  );
  return {
    server: options.server,
    app: options.app,
    worker: options.worker,
    signals: options.signals ?? ['SIGTERM', 'SIGINT'],
    timeoutMs: options.timeoutMs ?? 30_000,
    exit: options.exit ?? true,
    process: options.process ?? process,
  };
}
