/**
 * Run history: one row per scheduled run the scheduler handled, with the task id it sent and, once
 * the result backend knows it, the task's final state. (periodic task, scheduled for) is unique, so a
 * run is recorded once even with several beats.
 */
import { Column, Entity, Index, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { TABLES } from './table-names';

/**
 * SENT: dispatched, final state not known yet. SKIPPED_*: not sent (missed beyond the catch-up
 * window, previous run still running). SEND_FAILED: the broker refused it. Else a Celery state.
 */
export type RunState = 'SENT' | 'SKIPPED_MISSED' | 'SKIPPED_RUNNING' | 'SEND_FAILED' | 'SUCCESS' | 'FAILURE' | 'REVOKED' | 'STARTED' | 'RETRY';

@Entity(TABLES.run)
@Unique('uq_celeriac_beat_run', ['periodicTaskId', 'scheduledFor'])
@Index('ix_celeriac_beat_run_state', ['state', 'dispatchedAt'])
export class PeriodicTaskRunEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** The periodic task (kept after it is deleted, so history survives; then no row matches). */
  @Column({ name: 'periodic_task_id', type: 'int' })
  periodicTaskId!: number;

  @Column({ type: 'varchar', length: 200 })
  name!: string;

  @Column({ type: 'varchar', length: 200 })
  task!: string;

  @Column({ name: 'scheduled_for', type: Date })
  scheduledFor!: Date;

  @Column({ name: 'dispatched_at', type: Date })
  dispatchedAt!: Date;

  @Column({ name: 'task_id', type: 'varchar', length: 255, nullable: true })
  taskId!: string | null;

  @Column({ type: 'varchar', length: 24 })
  state!: RunState;

  /** Why it was skipped or failed. */
  @Column({ type: 'text', nullable: true })
  detail!: string | null;

  /** When the final state was read from the result backend. */
  @Column({ name: 'finished_at', type: Date, nullable: true })
  finishedAt!: Date | null;

  /** True when it was sent by "run now" in the admin, not by the schedule. */
  @Column({ type: 'boolean', default: false })
  manual!: boolean;
}
