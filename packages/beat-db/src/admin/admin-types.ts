/**
 * The admin API's contract: requests and responses as plain data, so the handlers stay framework-free
 * and the Express router, the Nest controller and the page all speak the same shapes.
 *
 * Routes, relative to where the admin is mounted (e.g. /admin/periodic-tasks):
 * ```text
 * GET    /                               the page (HTML)
 * GET    /assets/admin.js | admin.css    the page's script and style (no CDN)
 * GET    /api/periodic-tasks             list: ?search=&enabled=true|false&task=&queue=&page=1&pageSize=50&sort=name|-name|task|nextRunAt|lastRunAt|dateChanged
 * POST   /api/periodic-tasks             create (PeriodicTaskInput)               201 PeriodicTaskView
 * GET    /api/periodic-tasks/:id         one                                      PeriodicTaskView
 * PATCH  /api/periodic-tasks/:id         edit (Partial<PeriodicTaskInput>)        PeriodicTaskView
 * DELETE /api/periodic-tasks/:id                                                  204
 * POST   /api/periodic-tasks/:id/enable | /disable                                PeriodicTaskView
 * POST   /api/periodic-tasks/:id/run     run now, with the row's args and routing 202 { taskId }
 * GET    /api/periodic-tasks/:id/runs    run history, newest first (?limit=50)    { items: RunView[] }
 * GET    /api/periodic-tasks/:id/audit   audit log of the row (?limit=50)         { items: AuditView[] }
 * GET    /api/periodic-tasks/:id/preview next runs (?count=5)                     SchedulePreview
 * POST   /api/periodic-tasks/bulk        { ids, action: enable|disable|delete }   { affected }
 * POST   /api/schedules/preview          { schedule: ScheduleInput, count? }      SchedulePreview
 * GET    /api/tasks                      task names for the form (?search=)       { items: string[] }
 * GET    /api/audit                      the whole audit log (?limit=100)         { items: AuditView[] }
 * ```
 * Errors: `{ error: { code, message, fields? } }` (AdminErrorBody) with 400 (validation: `fields` maps a
 * field path such as `schedule.minute` or `kwargs` to its message), 401 (credentials missing or wrong,
 * with WWW-Authenticate), 403 (no auth configured, refused by the hook, CSRF), 404, 405, 409 (duplicate
 * name), 413 (body too large), 501 (run now without an app), 502 (the broker refused run now).
 * Runs and audit entries of a deleted task stay readable by its id.
 * State-changing requests need the `x-csrf-token` header (the page reads it from its meta tag), except
 * with bearer-token auth, which browsers never send on their own.
 */
import type { AuditAction } from '../entities/audit-log.entity';
import type { RunState } from '../entities/periodic-task-run.entity';
import type { PeriodicTaskSource } from '../entities/periodic-task.entity';
import type { ScheduleInput } from '../schedules/schedule-input';

/** A request, as the framework adapter hands it over. */
export interface AdminRequest {
  method: string;
  /** Path below the mount point, starting with '/'. */
  path: string;
  query: Record<string, string | undefined>;
  /** Lower-case header names. */
  headers: Record<string, string | undefined>;
  /** Parsed JSON body (undefined when none). */
  body?: unknown;
  /** Where the admin is mounted as the client sees it (Express's `req.baseUrl`); the page's links use it. */
  baseUrl?: string;
}

/** A response for the adapter to send. JSON unless `contentType` says otherwise (then `body` is a string). */
export interface AdminResponse {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
}

/** What a create takes; an edit takes any subset. */
export interface PeriodicTaskInput {
  name: string;
  task: string;
  schedule: ScheduleInput;
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  queue?: string | null;
  exchange?: string | null;
  routingKey?: string | null;
  priority?: number | null;
  headers?: Record<string, unknown>;
  /** ISO time after which no more runs are sent. */
  expires?: string | null;
  expireSeconds?: number | null;
  oneOff?: boolean;
  /** ISO time before which no run is sent. */
  startTime?: string | null;
  enabled?: boolean;
  skipIfRunning?: boolean;
  description?: string;
}

/** A periodic task as the API returns it (times ISO 8601). */
export interface PeriodicTaskView extends Required<Omit<PeriodicTaskInput, 'schedule'>> {
  id: number;
  schedule: ScheduleInput;
  /** 'every 5 minutes', 'At 03:00 AM (Europe/Paris)', 'sunset at 48.85, 2.35', 'once at …'. */
  scheduleText: string;
  lastRunAt: string | null;
  nextRunAt: string | null;
  totalRunCount: number;
  lastTaskId: string | null;
  dateChanged: string;
  createdAt: string;
  version: number;
  source: PeriodicTaskSource;
}

export interface RunView {
  id: number;
  scheduledFor: string;
  dispatchedAt: string;
  taskId: string | null;
  state: RunState;
  detail: string | null;
  finishedAt: string | null;
  manual: boolean;
}

export interface AuditView {
  id: number;
  at: string;
  actor: string;
  action: AuditAction;
  periodicTaskId: number | null;
  name: string;
  changes: Record<string, [unknown, unknown]>;
}

export interface SchedulePreview {
  /** Human-readable schedule (cron text via cronstrue). */
  description: string;
  /** The time zone the runs are shown in (the crontab's, else UTC). */
  timezone: string;
  /** ISO times of the next runs. */
  nextRuns: string[];
}

export interface ListResult {
  items: PeriodicTaskView[];
  total: number;
  page: number;
  pageSize: number;
}

/** Who is asking, as the auth hook decided; null refuses. */
export interface AdminIdentity {
  actor: string;
  /** True when authenticated by a bearer token (no CSRF check: browsers do not send it by themselves). */
  viaToken?: boolean;
}

/** Stable `error.code` values of error responses. */
export type AdminErrorCode =
  | 'VALIDATION' // 400, with `fields`
  | 'BAD_REQUEST' // 400: malformed JSON, bad query parameter
  | 'UNAUTHENTICATED' // 401: credentials missing or wrong
  | 'AUTH_NOT_CONFIGURED' // 403: no auth option given, so everyone is refused
  | 'FORBIDDEN' // 403: the authorize hook refused
  | 'CSRF' // 403: missing or wrong x-csrf-token
  | 'NOT_FOUND' // 404
  | 'METHOD_NOT_ALLOWED' // 405
  | 'CONFLICT' // 409: duplicate name
  | 'PAYLOAD_TOO_LARGE' // 413
  | 'NO_APP' // 501: run now without a Celeriac app
  | 'SEND_FAILED'; // 502: the broker refused the run-now message

/** The body of every error response. */
export interface AdminErrorBody {
  error: { code: AdminErrorCode; message: string; fields?: Record<string, string> };
}

export type BulkAction = 'enable' | 'disable' | 'delete';

/** Body of `POST /api/periodic-tasks/bulk` (at most 1000 ids). */
export interface BulkRequest {
  ids: number[];
  action: BulkAction;
}

/** Answer of bulk: how many rows changed (already enabled rows do not count for enable). */
export interface BulkResult {
  affected: number;
}

/** Body of `POST /api/schedules/preview`. */
export interface PreviewRequest {
  schedule: ScheduleInput;
  /** @defaultValue 5 (at most 50) */
  count?: number;
}

/** Answer of run now. */
export interface RunNowResult {
  taskId: string;
}

/** `{ items }` answers: runs, audit entries, task names. */
export interface ItemsResult<T> {
  items: T[];
}
