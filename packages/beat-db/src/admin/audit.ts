/**
 * Audit rows: who did what to which periodic task, with `{ field: [before, after] }`. A task's fields
 * are snapshotted as JSON values (times ISO, the schedule as its input form) so a diff is a compare.
 */
import type { EntityManager } from 'typeorm';
import { AuditLogEntity, type AuditAction } from '../entities/audit-log.entity';
import type { PeriodicTaskEntity } from '../entities/periodic-task.entity';
import { editableFields } from './views';

export type Snapshot = Record<string, unknown>;
export type Changes = Record<string, [unknown, unknown]>;

/** MySQL's TEXT holds 65,535 bytes; big argument lists are summarised to stay below it. */
const MAX_CHANGES_BYTES = 60_000;
const BIG_VALUE_BYTES = 1_000;

/** The admin-editable fields of a row (loaded with its schedule) as JSON values. */
export function snapshot(row: PeriodicTaskEntity): Snapshot {
  return { ...editableFields(row) };
}

/** Fields whose value differs, as [before, after]; a missing side is null (create, delete). */
export function diff(before: Snapshot | null, after: Snapshot | null): Changes {
  const changes: Changes = {};
  for (const key of Object.keys(after ?? before ?? {})) {
    const a = before?.[key] ?? null;
    const b = after?.[key] ?? null;
    if (JSON.stringify(a) !== JSON.stringify(b)) changes[key] = [a, b];
  }
  return changes;
}

/** Changes that fit the column: the largest values replaced by a note of their size. */
export function fitChanges(changes: Changes): Changes {
  const size = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? 'null', 'utf8');
  if (size(changes) <= MAX_CHANGES_BYTES) return changes;
  const out: Changes = {};
  for (const [key, pair] of Object.entries(changes)) {
    out[key] = pair.map((v) => (size(v) > BIG_VALUE_BYTES ? `[${size(v)} bytes of JSON, not kept in the audit log]` : v)) as [unknown, unknown];
  }
  return out;
}

/** Inserts audit rows (one per task). */
export async function writeAudit(manager: EntityManager, actor: string, action: AuditAction, entries: Array<{ periodicTaskId: number | null; name: string; changes: Changes }>): Promise<void> {
  if (!entries.length) return;
  const at = new Date();
  const repo = manager.getRepository(AuditLogEntity);
  const rows = entries.map((e) => repo.create({ at, actor: actor.slice(0, 200), action, periodicTaskId: e.periodicTaskId, name: e.name, changes: fitChanges(e.changes) }));
  // Chunks keep each INSERT under every driver's parameter limit.
  for (let i = 0; i < rows.length; i += 200) await repo.insert(rows.slice(i, i + 200) as Parameters<typeof repo.insert>[0]);
}
