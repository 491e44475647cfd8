/**
 * "Run now": sends the row's task with its own arguments and routing, as beat does, and records a
 * manual run in the history. The schedule's counters (last run, total count, next run) are left to
 * beat: a manual run does not move the schedule.
 */
import { randomUUID } from 'node:crypto';
import type { Celeriac } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { PeriodicTaskRunEntity } from '../entities/periodic-task-run.entity';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { sendOptions } from '../scheduler/due-run';
import { AdminError } from './admin-error';
import type { RunNowResult } from './admin-types';
import { writeAudit } from './audit';
import { isUniqueViolation } from './task-writes';

/** Records the run; (task, scheduledFor) is unique, so a clash with a run in the same millisecond moves by 1 ms. */
async function recordRun(dataSource: DataSource, row: PeriodicTaskEntity, run: Pick<PeriodicTaskRunEntity, 'taskId' | 'state' | 'detail'>, at: Date): Promise<void> {
  const repo = dataSource.getRepository(PeriodicTaskRunEntity);
  for (let shift = 0; ; shift++) {
    const scheduledFor = new Date(at.getTime() + shift);
    try {
      await repo.insert(repo.create({ periodicTaskId: row.id, name: row.name, task: row.task, scheduledFor, dispatchedAt: at, finishedAt: null, manual: true, ...run }));
      return;
    } catch (err) {
      if (!isUniqueViolation(err) || shift >= 20) throw err;
    }
  }
}

/** POST /:id/run. */
export async function runNow(dataSource: DataSource, app: Celeriac | undefined, row: PeriodicTaskEntity, actor: string): Promise<RunNowResult> {
  if (!app) throw new AdminError(501, 'NO_APP', 'Run now needs the Celeriac app: pass app to beatAdminRouter() / BeatAdminModule.forRoot().');
  const at = new Date();
  let taskId: string;
  try {
    // The scheduler's own options, so a manual run is routed exactly as a scheduled one.
    taskId = (await app.sendTask(row.task, row.args, row.kwargs, sendOptions(row, randomUUID()))).id;
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    await recordRun(dataSource, row, { taskId: null, state: 'SEND_FAILED', detail: detail.slice(0, 2000) }, at);
    throw new AdminError(502, 'SEND_FAILED', `The broker did not take the message: ${detail}`);
  }
  await recordRun(dataSource, row, { taskId, state: 'SENT', detail: null }, at);
  await writeAudit(dataSource.manager, actor, 'run', [{ periodicTaskId: row.id, name: row.name, changes: { taskId: [null, taskId] } }]);
  return { taskId };
}
