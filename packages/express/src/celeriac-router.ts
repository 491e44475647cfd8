/**
 * `celeriacRouter({ app, tasks })`: a small HTTP API over the app.
 *
 * - `POST /tasks/:name` with `{ args?, kwargs?, options?: { countdown?, eta?, expires?, queue?, priority? } }`
 *   sends an allow-listed task: 202 `{ id, name, state: 'PENDING' }` and a Location header.
 * - `GET /tasks/:id`: 200 `{ id, state, known, result?, error?, dateDone }`.
 * - `POST /tasks/:id/revoke` with `{ terminate?: boolean }`: broadcasts Celery's revoke to every
 *   worker (the task will not start; `terminate` stops it if running): 202 `{ id, revoked: true, terminate }`.
 *   Off with `revoke: false`.
 *
 * Bad bodies get 400 `{ error: { message, field } }`; names outside the allow-list 404. Anything else
 * (broker down, no result backend...) goes to `next(err)` for the application's error handler.
 */
import { fromExceptionDict, states, type ApplyOptions, type ResultMeta } from '@celeriac/core';
import type { ErrorRequestHandler, NextFunction, Request, Response, Router } from 'express';
import { loadExpress } from './load-express';
import { validateRouterOptions, type CeleriacRouterOptions } from './options';

/** Body of `POST /tasks/:name`. */
export interface SendTaskBody {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: {
    /** Seconds from now before the task may run. */
    countdown?: number;
    /** ISO 8601 time before which the task may not run. */
    eta?: string;
    /** Seconds from now, or an ISO 8601 time, after which the task is revoked unrun. */
    expires?: number | string;
    queue?: string;
    /** Integer 0-255 (0-9 on the usual brokers). */
    priority?: number;
  };
}

/** Response of `POST /tasks/:name`. */
export interface SentTaskResponse {
  id: string;
  name: string;
  state: 'PENDING';
}

/** Response of `GET /tasks/:id`. */
export interface TaskStatusResponse {
  id: string;
  state: string;
  /** False when nothing is stored for the id: queued (without taskTrackSent), expired or unknown. */
  known: boolean;
  /** The return value (SUCCESS) or a custom state's meta. */
  result?: unknown;
  /** The exception of FAILURE, REVOKED and RETRY states. */
  error?: { type: string; module: string | null; message: string; traceback: string | null };
  /** When the task finished (ISO 8601, UTC), or null. */
  dateDone: string | null;
}

/** Response of `POST /tasks/:id/revoke`. */
export interface RevokeResponse {
  id: string;
  revoked: true;
  terminate: boolean;
}

/** The error body of 400 and 404 answers. */
export interface ErrorResponse {
  error: { message: string; field?: string };
}

const BODY_KEYS = new Set(['args', 'kwargs', 'options']);
const OPTION_KEYS = new Set(['countdown', 'eta', 'expires', 'queue', 'priority']);
const MAX_ID_LENGTH = 255;

class BadRequest extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

const isPlainObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

function parseIsoDate(field: string, value: unknown): Date {
  if (typeof value !== 'string' || !/^\d{4}-\d\d-\d\dT/.test(value)) throw new BadRequest(field, `${field} must be an ISO 8601 date-time string, e.g. "2030-01-01T12:00:00Z".`);
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) throw new BadRequest(field, `${field} is not a valid date-time: "${value}".`);
  return date;
}

/** Validates the body of `POST /tasks/:name`; throws BadRequest naming the field. */
export function parseSendTaskBody(body: unknown): { args: unknown[]; kwargs: Record<string, unknown>; options: ApplyOptions } {
  if (body === undefined || body === null) body = {};
  if (!isPlainObject(body)) throw new BadRequest('body', 'The body must be a JSON object: { "args": [...], "kwargs": {...}, "options": {...} }.');
  for (const key of Object.keys(body)) {
    if (!BODY_KEYS.has(key)) throw new BadRequest(key, `Unknown field "${key}": expected args, kwargs or options.`);
  }
  const args = body.args ?? [];
  if (!Array.isArray(args)) throw new BadRequest('args', 'args must be an array.');
  const kwargs = body.kwargs ?? {};
  if (!isPlainObject(kwargs)) throw new BadRequest('kwargs', 'kwargs must be an object.');
  const raw = body.options ?? {};
  if (!isPlainObject(raw)) throw new BadRequest('options', 'options must be an object.');
  const options: ApplyOptions = {};
  for (const key of Object.keys(raw)) {
    if (!OPTION_KEYS.has(key)) throw new BadRequest(`options.${key}`, `Unknown option "${key}": expected ${[...OPTION_KEYS].join(', ')}.`);
  }
  if (raw.countdown !== undefined) {
    if (typeof raw.countdown !== 'number' || !Number.isFinite(raw.countdown) || raw.countdown < 0) throw new BadRequest('options.countdown', 'options.countdown must be a number of seconds >= 0.');
    options.countdown = raw.countdown;
  }
  if (raw.eta !== undefined) {
    if (raw.countdown !== undefined) throw new BadRequest('options.eta', 'Give options.countdown or options.eta, not both.');
    options.eta = parseIsoDate('options.eta', raw.eta);
  }
  if (raw.expires !== undefined) {
    if (typeof raw.expires === 'number') {
      if (!Number.isFinite(raw.expires) || raw.expires <= 0) throw new BadRequest('options.expires', 'options.expires must be a number of seconds > 0 or an ISO 8601 date-time.');
      options.expires = raw.expires;
    } else {
      options.expires = parseIsoDate('options.expires', raw.expires);
    }
  }
  if (raw.queue !== undefined) {
    if (typeof raw.queue !== 'string' || !raw.queue) throw new BadRequest('options.queue', 'options.queue must be a non-empty string.');
    options.queue = raw.queue;
  }
  if (raw.priority !== undefined) {
    if (typeof raw.priority !== 'number' || !Number.isInteger(raw.priority) || raw.priority < 0 || raw.priority > 255) throw new BadRequest('options.priority', 'options.priority must be an integer 0-255.');
    options.priority = raw.priority;
  }
  return { args, kwargs, options };
}

function dateDoneIso(done: string | null | undefined): string | null {
  if (!done) return null;
  const date = new Date(/[zZ]|[+-]\d\d:?\d\d$/.test(done) ? done : done + 'Z');
  return Number.isNaN(date.getTime()) ? done : date.toISOString();
}

/** The `GET /tasks/:id` body for a stored record (or null: nothing stored). */
export function taskStatus(id: string, meta: ResultMeta | null, exposeTracebacks: boolean): TaskStatusResponse {
  if (!meta) return { id, state: states.PENDING, known: false, dateDone: null };
  const out: TaskStatusResponse = { id, state: meta.status, known: true, dateDone: dateDoneIso(meta.dateDone) };
  if (states.EXCEPTION_STATES.has(meta.status)) {
    const err = fromExceptionDict(meta.result, meta.traceback, id);
    const prefix = `${err.excType}: `;
    out.error = {
      type: err.excType,
      module: err.excModule,
      message: err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message,
      traceback: exposeTracebacks ? meta.traceback : null,
    };
  } else if (meta.status !== states.PENDING) {
    out.result = meta.result;
  }
  return out;
}

type AsyncHandler = (req: Request, res: Response) => Promise<void>;

/** Express 4 does not forward rejected promises; every async handler passes its error to next. */
const handle =
  (fn: AsyncHandler) =>
  (req: Request, res: Response, next: NextFunction): void => {
    fn(req, res).catch(next);
  };

/**
 * The task HTTP API router. Mount it under a path of your choice, behind your authentication.
 * @example
 * server.use('/celeriac', celeriacRouter({ app: celeriac, tasks: ['reports.build'] }));
 */
export function celeriacRouter(options: CeleriacRouterOptions): Router {
  const { app, tasks, exposeTracebacks, jsonLimit, revoke } = validateRouterOptions(options);
  const express = loadExpress();
  const router = express.Router();

  router.post(
    '/tasks/:name',
    express.json({ limit: jsonLimit, strict: true }),
    handle(async (req, res) => {
      const name = String(req.params.name);
      if (tasks !== '*' && !tasks.has(name)) {
        res.status(404).json({ error: { message: `Task "${name}" is not exposed by this API.`, field: 'name' } } satisfies ErrorResponse);
        return;
      }
      let parsed: ReturnType<typeof parseSendTaskBody>;
      try {
        parsed = parseSendTaskBody(req.body as unknown);
      } catch (err) {
        if (!(err instanceof BadRequest)) throw err;
        res.status(400).json({ error: { message: err.message, field: err.field } } satisfies ErrorResponse);
        return;
      }
      const result = await app.sendTask(name, parsed.args, parsed.kwargs, parsed.options);
      res
        .status(202)
        .location(`${req.baseUrl}/tasks/${encodeURIComponent(result.id)}`)
        .json({ id: result.id, name, state: 'PENDING' } satisfies SentTaskResponse);
    }),
  );

  router.get(
    '/tasks/:id',
    handle(async (req, res) => {
      const id = String(req.params.id);
      if (id.length > MAX_ID_LENGTH) {
        res.status(400).json({ error: { message: `Task ids are at most ${MAX_ID_LENGTH} characters.`, field: 'id' } } satisfies ErrorResponse);
        return;
      }
      const meta = await app.asyncResult(id).meta();
      res.status(200).json(taskStatus(id, meta, exposeTracebacks));
    }),
  );

  if (revoke) {
    router.post(
      '/tasks/:id/revoke',
      express.json({ limit: jsonLimit, strict: true }),
      handle(async (req, res) => {
        const id = String(req.params.id);
        if (id.length > MAX_ID_LENGTH) {
          res.status(400).json({ error: { message: `Task ids are at most ${MAX_ID_LENGTH} characters.`, field: 'id' } } satisfies ErrorResponse);
          return;
        }
        const body = (req.body ?? {}) as { terminate?: unknown };
        if (typeof body !== 'object' || Array.isArray(body) || (body.terminate !== undefined && typeof body.terminate !== 'boolean')) {
          res.status(400).json({ error: { message: '"terminate" must be a boolean.', field: 'terminate' } } satisfies ErrorResponse);
          return;
        }
        const terminate = body.terminate ?? false;
        await app.control.revoke(id, { terminate });
        res.status(202).json({ id, revoked: true, terminate } satisfies RevokeResponse);
      }),
    );
  }

  // Body-parser errors (malformed JSON, too large) answer as 4xx JSON; everything else goes on.
  const bodyErrors: ErrorRequestHandler = (err: unknown, _req, res, next) => {
    const e = err as { type?: unknown; status?: unknown; message?: unknown } | null;
    if (e && typeof e.type === 'string' && e.type.startsWith('entity.') && typeof e.status === 'number' && e.status >= 400 && e.status < 500) {
      res.status(e.status).json({ error: { message: typeof e.message === 'string' ? e.message : 'Bad request body.', field: 'body' } } satisfies ErrorResponse);
      return;
    }
    next(err);
  };
  router.use(bodyErrors);
  return router;
}
