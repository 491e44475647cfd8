/**
 * Reads: the paginated list, one row, run history, audit log. The list stays fast on 100k rows: one
 * page (LIMIT/OFFSET) plus a COUNT, LIKE on name and task, and sorting by whitelisted columns only.
 */
import type { DataSource, EntityManager, SelectQueryBuilder } from 'typeorm';
import { AuditLogEntity } from '../entities/audit-log.entity';
import { PeriodicTaskRunEntity } from '../entities/periodic-task-run.entity';
import { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { SCHEDULE_RELATIONS } from '../schedules/schedule-input';
import { badRequest, notFound } from './admin-error';
import type { AdminRequest, ListResult } from './admin-types';
import { auditView, runView, taskView } from './views';

/** Sort keys of the list and the column each sorts by. */
export const SORT_COLUMNS = { name: 'name', task: 'task', nextRunAt: 'next_run_at', lastRunAt: 'last_run_at', dateChanged: 'date_changed' } as const;
export type SortKey = keyof typeof SORT_COLUMNS;
const NULLABLE_SORTS: ReadonlySet<SortKey> = new Set(['nextRunAt', 'lastRunAt']);

/** SCHEDULE_RELATIONS in the form find options take. */
export const SCHEDULE_JOINS = { interval: true, crontab: true, solar: true, clocked: true } as const;

export const DEFAULT_PAGE_SIZE = 50;
export const MAX_PAGE_SIZE = 200;

/** An integer query parameter in [min, max], or its default; a 400 naming it otherwise. */
export function intParam(query: AdminRequest['query'], key: string, fallback: number, min: number, max: number): number {
  const raw = query[key];
  if (raw === undefined || raw === '') return fallback;
  const n = /^\d+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isInteger(n) || n < min || n > max) throw badRequest(`${key} must be a whole number from ${min} to ${max}.`, { [key]: `from ${min} to ${max}` });
  return n;
}

/** A row id from the path, or 404 (an id that is not a positive integer names no row). */
export function parseId(raw: string): number {
  const id = /^\d{1,10}$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(id) || id < 1 || id > 2_147_483_647) throw notFound(`Periodic task "${raw}"`);
  return id;
}

/** LIKE pattern for a substring, '!' escaping the wildcards (one escape character every dialect takes). */
export function likePattern(search: string): string {
  return `%${search.toLowerCase().replace(/[!%_]/g, (c) => `!${c}`)}%`;
}

function withSchedules(qb: SelectQueryBuilder<PeriodicTaskEntity>): SelectQueryBuilder<PeriodicTaskEntity> {
  for (const relation of SCHEDULE_RELATIONS) qb.leftJoinAndSelect(`t.${relation}`, relation);
  return qb;
}

/** GET /api/periodic-tasks. */
export async function listTasks(dataSource: DataSource, query: AdminRequest['query']): Promise<ListResult> {
  const page = intParam(query, 'page', 1, 1, 1_000_000);
  const pageSize = intParam(query, 'pageSize', DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
  const sortParam = query.sort || 'name';
  const descending = sortParam.startsWith('-');
  const sortKey = (descending ? sortParam.slice(1) : sortParam) as SortKey;
  if (!Object.hasOwn(SORT_COLUMNS, sortKey)) throw badRequest(`sort must be one of ${Object.keys(SORT_COLUMNS).join(', ')}, with "-" for descending.`, { sort: 'unknown sort' });

  const qb = withSchedules(dataSource.getRepository(PeriodicTaskEntity).createQueryBuilder('t'));
  const search = query.search?.trim();
  if (search) {
    if (search.length > 200) throw badRequest('search is at most 200 characters.', { search: 'too long' });
    qb.andWhere("(LOWER(t.name) LIKE :q ESCAPE '!' OR LOWER(t.task) LIKE :q ESCAPE '!')", { q: likePattern(search) });
  }
  if (query.enabled !== undefined && query.enabled !== '') {
    if (query.enabled !== 'true' && query.enabled !== 'false') throw badRequest('enabled must be true or false.', { enabled: 'true or false' });
    qb.andWhere('t.enabled = :enabled', { enabled: query.enabled === 'true' });
  }
  if (query.task) qb.andWhere('t.task = :task', { task: query.task });
  if (query.queue) qb.andWhere('t.queue = :queue', { queue: query.queue });

  const column = `${qb.escape('t')}.${qb.escape(SORT_COLUMNS[sortKey])}`;
  const order = descending ? 'DESC' : 'ASC';
  // Rows never run (null times) last in both directions, the same on every database.
  if (NULLABLE_SORTS.has(sortKey)) qb.orderBy(`CASE WHEN ${column} IS NULL THEN 1 ELSE 0 END`, 'ASC').addOrderBy(column, order);
  else qb.orderBy(column, order);
  qb.addOrderBy(`${qb.escape('t')}.${qb.escape('id')}`, order);
  // offset/limit, not skip/take: the joins are many-to-one, so rows are not multiplied.
  qb.offset((page - 1) * pageSize).limit(pageSize);
  const [rows, total] = await qb.getManyAndCount();
  return { items: rows.map(taskView), total, page, pageSize };
}

/** One row with its schedule, or a 404. */
export async function findTask(manager: EntityManager, id: number): Promise<PeriodicTaskEntity> {
  const row = await manager.getRepository(PeriodicTaskEntity).findOne({ where: { id }, relations: SCHEDULE_JOINS });
  if (!row) throw notFound(`Periodic task ${id}`);
  return row;
}

/** A periodic task's run history, newest first (kept after the task is deleted). */
export async function listRuns(dataSource: DataSource, periodicTaskId: number, limit: number) {
  const rows = await dataSource.getRepository(PeriodicTaskRunEntity).find({ where: { periodicTaskId }, order: { scheduledFor: 'DESC', id: 'DESC' }, take: limit });
  return { items: rows.map(runView) };
}

/** The audit log, newest first: of one periodic task, or all of it. */
export async function listAudit(dataSource: DataSource, periodicTaskId: number | null, limit: number) {
  const rows = await dataSource.getRepository(AuditLogEntity).find({ where: periodicTaskId === null ? {} : { periodicTaskId }, order: { at: 'DESC', id: 'DESC' }, take: limit });
  return { items: rows.map(auditView) };
}
