/** Audit log: who changed which periodic task, when, and what changed (written by the admin API). */
import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import { TABLES } from './table-names';
import { jsonText } from './transformers';

export type AuditAction = 'create' | 'update' | 'delete' | 'enable' | 'disable' | 'run';

@Entity(TABLES.audit)
@Index('ix_celeriac_beat_audit_task', ['periodicTaskId', 'at'])
export class AuditLogEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: Date })
  at!: Date;

  /** Who did it, as the admin's auth hook named them. */
  @Column({ type: 'varchar', length: 200 })
  actor!: string;

  @Column({ type: 'varchar', length: 16 })
  action!: AuditAction;

  @Column({ name: 'periodic_task_id', type: 'int', nullable: true })
  periodicTaskId!: number | null;

  /** The task's name at the time (kept when the task is deleted). */
  @Column({ type: 'varchar', length: 200 })
  name!: string;

  /** Changed fields: `{ field: [before, after] }` (JSON text). */
  @Column({ type: 'text', transformer: jsonText })
  changes!: Record<string, [unknown, unknown]>;
}
