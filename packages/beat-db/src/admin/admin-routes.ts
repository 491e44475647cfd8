/** The route table: method + path pattern → handler. Paths are relative to where the admin is mounted. */
import type { Celeriac } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { ADMIN_ASSETS } from './page';
import { AdminError, notFound, validationError } from './admin-error';
import type { AdminIdentity, AdminRequest, AdminResponse, BulkAction, ItemsResult } from './admin-types';
import { DEFAULT_PREVIEW_COUNT, MAX_PREVIEW_COUNT, previewRow, previewSchedule } from './preview';
import { runNow } from './run-now';
import { asNumber, isPlainObject, validateSchedule, type FieldErrors } from './schedule-validation';
import { findTask, intParam, listAudit, listRuns, listTasks, parseId } from './task-queries';
import { bulkAction, createTask, deleteTask, enableTask, updateTask } from './task-writes';
import { validateTaskInput, type TaskNameCheck } from './validation';
import { taskView } from './views';

/** What a route handler gets. */
export interface RouteContext {
  req: AdminRequest;
  identity: AdminIdentity;
  params: string[];
  dataSource: DataSource;
  app: Celeriac | undefined;
  tasks: TaskNameCheck;
  /** Registered and allowed task names, for the form's suggestions. */
  knownTasks(): string[];
  page(): AdminResponse;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  pattern: RegExp;
  run(ctx: RouteContext): Promise<AdminResponse>;
}

const BULK_ACTIONS: readonly BulkAction[] = ['enable', 'disable', 'delete'];
const MAX_BULK = 1000;

const ok = (body: unknown, status = 200): AdminResponse => ({ status, body });
const id = (ctx: RouteContext): number => parseId(ctx.params[0]!);

function previewCount(raw: unknown, errors: FieldErrors): number {
  if (raw === undefined) return DEFAULT_PREVIEW_COUNT;
  const n = asNumber(raw);
  if (n === undefined || !Number.isInteger(n) || n < 1 || n > MAX_PREVIEW_COUNT) errors.count = `count must be a whole number from 1 to ${MAX_PREVIEW_COUNT}.`;
  return n ?? DEFAULT_PREVIEW_COUNT;
}

function parseBulk(body: unknown): { ids: number[]; action: BulkAction } {
  const errors: FieldErrors = {};
  const b = isPlainObject(body) ? body : {};
  const ids = b.ids;
  if (!Array.isArray(ids) || !ids.length || ids.length > MAX_BULK || !ids.every((i) => Number.isInteger(i) && (i as number) > 0)) {
    errors.ids = `ids must be a list of 1 to ${MAX_BULK} periodic task ids.`;
  }
  if (!BULK_ACTIONS.includes(b.action as BulkAction)) errors.action = `action must be one of ${BULK_ACTIONS.join(', ')}.`;
  if (Object.keys(errors).length) throw validationError(errors);
  return { ids: [...new Set(ids as number[])], action: b.action as BulkAction };
}

/** An edit may keep a task name this app does not know (a row made by code elsewhere, or by SQL). */
function editCheck(tasks: TaskNameCheck, current: string): TaskNameCheck {
  return { hint: tasks.hint, isAllowed: (name) => name === current || tasks.isAllowed(name) };
}

const TASK = '/api/periodic-tasks/([^/]+)';

export const ROUTES: readonly Route[] = [
  { method: 'GET', pattern: /^\/$/, run: async (ctx) => ctx.page() },
  {
    method: 'GET',
    pattern: /^\/assets\/([^/]+)$/,
    run: async (ctx) => {
      const asset = Object.hasOwn(ADMIN_ASSETS, ctx.params[0]!) ? ADMIN_ASSETS[ctx.params[0]!] : undefined;
      if (!asset) throw notFound(`Asset "${ctx.params[0]}"`);
      return { status: 200, body: asset.body, contentType: asset.contentType };
    },
  },
  { method: 'GET', pattern: /^\/api\/periodic-tasks$/, run: async (ctx) => ok(await listTasks(ctx.dataSource, ctx.req.query)) },
  {
    method: 'POST',
    pattern: /^\/api\/periodic-tasks$/,
    run: async (ctx) => ok(await createTask(ctx.dataSource, validateTaskInput(ctx.req.body, { partial: false, tasks: ctx.tasks }), ctx.identity.actor), 201),
  },
  {
    method: 'POST',
    pattern: /^\/api\/periodic-tasks\/bulk$/,
    run: async (ctx) => {
      const { ids, action } = parseBulk(ctx.req.body);
      return ok({ affected: await bulkAction(ctx.dataSource, ids, action, ctx.identity.actor) });
    },
  },
  { method: 'GET', pattern: new RegExp(`^${TASK}$`), run: async (ctx) => ok(taskView(await findTask(ctx.dataSource.manager, id(ctx)))) },
  {
    method: 'PATCH',
    pattern: new RegExp(`^${TASK}$`),
    run: async (ctx) => {
      const row = await findTask(ctx.dataSource.manager, id(ctx));
      const fields = validateTaskInput(ctx.req.body, { partial: true, tasks: editCheck(ctx.tasks, row.task) });
      return ok(await updateTask(ctx.dataSource, row.id, fields, ctx.identity.actor));
    },
  },
  {
    method: 'DELETE',
    pattern: new RegExp(`^${TASK}$`),
    run: async (ctx) => {
      await deleteTask(ctx.dataSource, id(ctx), ctx.identity.actor);
      return { status: 204 };
    },
  },
  { method: 'POST', pattern: new RegExp(`^${TASK}/enable$`), run: async (ctx) => ok(await enableTask(ctx.dataSource, id(ctx), true, ctx.identity.actor)) },
  { method: 'POST', pattern: new RegExp(`^${TASK}/disable$`), run: async (ctx) => ok(await enableTask(ctx.dataSource, id(ctx), false, ctx.identity.actor)) },
  {
    method: 'POST',
    pattern: new RegExp(`^${TASK}/run$`),
    run: async (ctx) => ok(await runNow(ctx.dataSource, ctx.app, await findTask(ctx.dataSource.manager, id(ctx)), ctx.identity.actor), 202),
  },
  { method: 'GET', pattern: new RegExp(`^${TASK}/runs$`), run: async (ctx) => ok(await listRuns(ctx.dataSource, id(ctx), intParam(ctx.req.query, 'limit', 50, 1, 500))) },
  { method: 'GET', pattern: new RegExp(`^${TASK}/audit$`), run: async (ctx) => ok(await listAudit(ctx.dataSource, id(ctx), intParam(ctx.req.query, 'limit', 50, 1, 500))) },
  {
    method: 'GET',
    pattern: new RegExp(`^${TASK}/preview$`),
    run: async (ctx) => {
      const count = intParam(ctx.req.query, 'count', DEFAULT_PREVIEW_COUNT, 1, MAX_PREVIEW_COUNT);
      return ok(previewRow(await findTask(ctx.dataSource.manager, id(ctx)), count));
    },
  },
  {
    method: 'POST',
    pattern: /^\/api\/schedules\/preview$/,
    run: async (ctx) => {
      const errors: FieldErrors = {};
      const body = isPlainObject(ctx.req.body) ? ctx.req.body : {};
      const schedule = validateSchedule(body.schedule, errors);
      const count = previewCount(body.count, errors);
      if (!schedule || Object.keys(errors).length) throw validationError(errors);
      return ok(previewSchedule(schedule, count));
    },
  },
  {
    method: 'GET',
    pattern: /^\/api\/tasks$/,
    run: async (ctx) => {
      const search = ctx.req.query.search?.trim().toLowerCase() ?? '';
      const items = ctx.knownTasks().filter((name) => name.toLowerCase().includes(search));
      return ok({ items } satisfies ItemsResult<string>);
    },
  },
  { method: 'GET', pattern: /^\/api\/audit$/, run: async (ctx) => ok(await listAudit(ctx.dataSource, null, intParam(ctx.req.query, 'limit', 100, 1, 1000))) },
];

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw notFound(`Path segment "${segment}"`);
  }
}

/** The route for a request; 404 when no path matches, 405 when only the method is wrong. */
export function matchRoute(method: string, path: string): { route: Route; params: string[] } {
  let pathMatched = false;
  for (const route of ROUTES) {
    const match = route.pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (route.method === method) return { route, params: match.slice(1).map(decodeSegment) };
  }
  if (pathMatched) throw new AdminError(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}.`);
  throw notFound(`Route ${method} ${path}`);
}
