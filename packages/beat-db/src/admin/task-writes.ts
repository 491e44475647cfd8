/**
 * Writes, each in one transaction with its audit rows: create, edit, delete, enable/disable (one or
 * many). The schedule comes as fields; scheduleRowFor finds or creates the shared schedule row. The
 * database's triggers bump `version` and clear `next_run_at`, so beat picks every change up.
 */
import { In, type DataSource, type EntityManager } from 'typeorm';
import { ClockedScheduleEntity } from '../entities/clocked-schedule.entity';
import { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { scheduleRowFor } from '../schedules/schedule-rows';
import { AdminError } from './admin-error';
import type { BulkAction, PeriodicTaskView } from './admin-types';
import { diff, snapshot, writeAudit } from './audit';
import { findTask, SCHEDULE_JOINS } from './task-queries';
import type { TaskFields } from './validation';
import { scheduleInputOf, taskView } from './views';

const duplicate = (name: string): AdminError => new AdminError(409, 'CONFLICT', `A periodic task named "${name}" already exists.`, { name: 'This name is already used by another periodic task.' });

/** Unique-constraint violations of PostgreSQL, MySQL/MariaDB and SQLite. */
export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: unknown; errno?: unknown; driverError?: { code?: unknown; errno?: unknown } } | null;
  const codes = [e?.code, e?.driverError?.code, e?.errno, e?.driverError?.errno];
  return codes.some((c) => c === '23505' || c === 'ER_DUP_ENTRY' || c === 1062 || c === 'SQLITE_CONSTRAINT_UNIQUE');
}

async function assertNameFree(manager: EntityManager, name: string, exceptId?: number): Promise<void> {
  const other = await manager.getRepository(PeriodicTaskEntity).findOne({ where: { name }, select: { id: true } });
  if (other && other.id !== exceptId) throw duplicate(name);
}

/** Clocked rows belong to one task: drop those no task points at any more. */
async function dropOrphanClocked(manager: EntityManager, ids: Array<number | null>): Promise<void> {
  for (const id of ids) {
    if (id === null) continue;
    const used = await manager.getRepository(PeriodicTaskEntity).exists({ where: { clockedId: id } });
    if (!used) await manager.getRepository(ClockedScheduleEntity).delete(id);
  }
}

async function saveRenaming<T>(name: string | undefined, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    // A concurrent create took the name between our check and the write.
    if (name !== undefined && isUniqueViolation(err)) throw duplicate(name);
    throw err;
  }
}

/** POST /api/periodic-tasks. */
export async function createTask(dataSource: DataSource, fields: Partial<TaskFields>, actor: string): Promise<PeriodicTaskView> {
  const { schedule, ...rest } = fields as TaskFields;
  const given: Partial<Omit<TaskFields, 'schedule'>> = rest;
  const id = await saveRenaming(rest.name, () =>
    dataSource.transaction(async (manager) => {
      await assertNameFree(manager, rest.name);
      const repo = manager.getRepository(PeriodicTaskEntity);
      const ids = await scheduleRowFor(manager, schedule);
      const row = repo.create({
        args: [], kwargs: {}, headers: {}, queue: null, exchange: null, routingKey: null, priority: null, expires: null, expireSeconds: null,
        oneOff: false, startTime: null, enabled: true, skipIfRunning: false, description: '', ...given, ...ids, source: 'admin',
      });
      const { id } = await repo.save(row);
      const saved = await findTask(manager, id);
      await writeAudit(manager, actor, 'create', [{ periodicTaskId: id, name: saved.name, changes: diff(null, snapshot(saved)) }]);
      return id;
    }),
  );
  return taskView(await findTask(dataSource.manager, id));
}

/** PATCH /api/periodic-tasks/:id. */
export async function updateTask(dataSource: DataSource, id: number, fields: Partial<TaskFields>, actor: string): Promise<PeriodicTaskView> {
  const { schedule, ...rest } = fields;
  await saveRenaming(rest.name, () =>
    dataSource.transaction(async (manager) => {
      const row = await findTask(manager, id);
      const before = snapshot(row);
      if (rest.name !== undefined && rest.name !== row.name) await assertNameFree(manager, rest.name, id);
      // Only columns whose value differs: saving an unchanged form must not bump `version` (code defaults
      // read a bumped version as "edited by an admin" and stop updating the row).
      const changes: Partial<PeriodicTaskEntity> = {};
      for (const [key, value] of Object.entries(rest)) {
        if (JSON.stringify(value instanceof Date ? value.toISOString() : value) !== JSON.stringify(before[key])) Object.assign(changes, { [key]: value });
      }
      // Same schedule again: keep the row's schedule (a new clocked row would be made otherwise).
      if (schedule && JSON.stringify(schedule) !== JSON.stringify(scheduleInputOf(row))) Object.assign(changes, await scheduleRowFor(manager, schedule));
      const repo = manager.getRepository(PeriodicTaskEntity);
      if (Object.keys(changes).length) await repo.update(id, changes as Parameters<typeof repo.update>[1]);
      if (changes.clockedId !== undefined && changes.clockedId !== row.clockedId) await dropOrphanClocked(manager, [row.clockedId]);
      const after = await findTask(manager, id);
      const changed = diff(before, snapshot(after));
      if (Object.keys(changed).length) await writeAudit(manager, actor, 'update', [{ periodicTaskId: id, name: after.name, changes: changed }]);
    }),
  );
  return taskView(await findTask(dataSource.manager, id));
}

/** Enables or disables rows; audits the ones that changed and returns them (ids missing are skipped). */
async function setEnabled(manager: EntityManager, ids: number[], enabled: boolean, actor: string): Promise<number[]> {
  const repo = manager.getRepository(PeriodicTaskEntity);
  const rows = await repo.find({ where: { id: In(ids), enabled: !enabled }, select: { id: true, name: true } });
  if (!rows.length) return [];
  await repo.update({ id: In(rows.map((r) => r.id)) }, { enabled });
  await writeAudit(manager, actor, enabled ? 'enable' : 'disable', rows.map((r) => ({ periodicTaskId: r.id, name: r.name, changes: { enabled: [!enabled, enabled] } })));
  return rows.map((r) => r.id);
}

/** Deletes rows (their run history and audit log stay); returns how many. */
async function deleteRows(manager: EntityManager, ids: number[], actor: string): Promise<number> {
  const rows = await manager.getRepository(PeriodicTaskEntity).find({ where: { id: In(ids) }, relations: SCHEDULE_JOINS });
  if (!rows.length) return 0;
  await manager.getRepository(PeriodicTaskEntity).delete({ id: In(rows.map((r) => r.id)) });
  await dropOrphanClocked(manager, rows.map((r) => r.clockedId));
  await writeAudit(manager, actor, 'delete', rows.map((r) => ({ periodicTaskId: r.id, name: r.name, changes: diff(snapshot(r), null) })));
  return rows.length;
}

/** POST /:id/enable | /disable. */
export async function enableTask(dataSource: DataSource, id: number, enabled: boolean, actor: string): Promise<PeriodicTaskView> {
  await dataSource.transaction(async (manager) => {
    await findTask(manager, id);
    await setEnabled(manager, [id], enabled, actor);
  });
  return taskView(await findTask(dataSource.manager, id));
}

/** DELETE /:id. */
export async function deleteTask(dataSource: DataSource, id: number, actor: string): Promise<void> {
  const deleted = await dataSource.transaction((manager) => deleteRows(manager, [id], actor));
  if (!deleted) await findTask(dataSource.manager, id); // throws the 404
}

/** POST /bulk: how many rows changed. */
export async function bulkAction(dataSource: DataSource, ids: number[], action: BulkAction, actor: string): Promise<number> {
  return dataSource.transaction(async (manager) => {
    if (action === 'delete') return deleteRows(manager, ids, actor);
    return (await setEnabled(manager, ids, action === 'enable', actor)).length;
  });
}
