/** Rows as the API returns them: plain JSON, times in ISO 8601 (UTC). */
import type { AuditLogEntity } from '../entities/audit-log.entity';
import type { PeriodicTaskRunEntity } from '../entities/periodic-task-run.entity';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { rowScheduleInput, type ScheduleInput } from '../schedules/schedule-input';
import type { AuditView, PeriodicTaskInput, PeriodicTaskView, RunView } from './admin-types';
import { describeSchedule } from './schedule-text';

const iso = (d: Date | null | undefined): string | null => (d ? d.toISOString() : null);

/** The row's schedule (loaded with SCHEDULE_RELATIONS); throws when it has none, which the database's check forbids. */
export function scheduleInputOf(row: PeriodicTaskEntity): ScheduleInput {
  const input = rowScheduleInput(row);
  if (!input) throw new Error(`Periodic task ${row.id} ("${row.name}") has no schedule: was it loaded without SCHEDULE_RELATIONS?`);
  return input;
}

/** The fields an admin edits, as JSON values (times ISO, the schedule as its input form): the API's and the audit's view. */
export function editableFields(row: PeriodicTaskEntity): Required<PeriodicTaskInput> {
  return {
    name: row.name,
    task: row.task,
    schedule: scheduleInputOf(row),
    args: row.args,
    kwargs: row.kwargs,
    queue: row.queue,
    exchange: row.exchange,
    routingKey: row.routingKey,
    priority: row.priority,
    headers: row.headers,
    expires: iso(row.expires),
    expireSeconds: row.expireSeconds,
    oneOff: row.oneOff,
    startTime: iso(row.startTime),
    enabled: row.enabled,
    skipIfRunning: row.skipIfRunning,
    description: row.description,
  };
}

/** A periodic task row (loaded with its schedule) as the API returns it. */
export function taskView(row: PeriodicTaskEntity): PeriodicTaskView {
  const fields = editableFields(row);
  return {
    id: row.id,
    ...fields,
    scheduleText: describeSchedule(fields.schedule),
    lastRunAt: iso(row.lastRunAt),
    nextRunAt: iso(row.nextRunAt),
    totalRunCount: row.totalRunCount,
    lastTaskId: row.lastTaskId,
    dateChanged: iso(row.dateChanged) ?? '',
    createdAt: iso(row.createdAt) ?? '',
    version: row.version,
    source: row.source,
  };
}

/** A run-history row as the API returns it. */
export function runView(row: PeriodicTaskRunEntity): RunView {
  return {
    id: row.id,
    scheduledFor: row.scheduledFor.toISOString(),
    dispatchedAt: row.dispatchedAt.toISOString(),
    taskId: row.taskId,
    state: row.state,
    detail: row.detail,
    finishedAt: iso(row.finishedAt),
    manual: row.manual,
  };
}

/** An audit row as the API returns it. */
export function auditView(row: AuditLogEntity): AuditView {
  return { id: row.id, at: row.at.toISOString(), actor: row.actor, action: row.action, periodicTaskId: row.periodicTaskId, name: row.name, changes: row.changes };
}
