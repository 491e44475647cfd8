/**
 * A periodic task row (django-celery-beat's PeriodicTask): a named entry that sends `task` on exactly
 * one of four schedules, with its own arguments and routing.
 *
 * Who writes which columns:
 * ```text
 * admin, code defaults, raw SQL   name … description, enabled, schedule ids   (a trigger bumps version,
 *                                                                             sets date_changed, and
 *                                                                             clears next_run_at)
 * the scheduler                   next_run_at, last_run_at, total_run_count, last_task_id, beat_seq
 * ```
 * The scheduler finds work through the index on (enabled, next_run_at): due rows, and rows whose
 * next_run_at a change cleared. It never loads the whole table.
 */
import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryGeneratedColumn } from 'typeorm';
import { ClockedScheduleEntity } from './clocked-schedule.entity';
import { CrontabScheduleEntity } from './crontab-schedule.entity';
import { IntervalScheduleEntity } from './interval-schedule.entity';
import { SolarScheduleEntity } from './solar-schedule.entity';
import { TABLES } from './table-names';
import { jsonText } from './transformers';

/** Where a row came from: the admin (or SQL), or code defaults (`@Periodic`, `beatSchedule`). */
export type PeriodicTaskSource = 'admin' | 'code';

@Entity(TABLES.periodicTask)
@Index('ix_celeriac_beat_task_due', ['enabled', 'nextRunAt'])
export class PeriodicTaskEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** Unique, human-chosen name (beat's entry name). */
  @Column({ type: 'varchar', length: 200, unique: true })
  name!: string;

  /** Name of the task to send (it may be defined in Python). */
  @Column({ type: 'varchar', length: 200 })
  task!: string;

  @Column({ name: 'interval_id', type: 'int', nullable: true })
  intervalId!: number | null;

  @ManyToOne(() => IntervalScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'interval_id' })
  interval?: IntervalScheduleEntity | null;

  @Column({ name: 'crontab_id', type: 'int', nullable: true })
  crontabId!: number | null;

  @ManyToOne(() => CrontabScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'crontab_id' })
  crontab?: CrontabScheduleEntity | null;

  @Column({ name: 'solar_id', type: 'int', nullable: true })
  solarId!: number | null;

  @ManyToOne(() => SolarScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'solar_id' })
  solar?: SolarScheduleEntity | null;

  @Column({ name: 'clocked_id', type: 'int', nullable: true })
  clockedId!: number | null;

  @ManyToOne(() => ClockedScheduleEntity, { nullable: true, onDelete: 'CASCADE' })
  @JoinColumn({ name: 'clocked_id' })
  clocked?: ClockedScheduleEntity | null;

  /** Positional arguments, JSON text (an array). */
  @Column({ type: 'text', transformer: jsonText })
  args!: unknown[];

  /** Keyword arguments, JSON text (an object). */
  @Column({ type: 'text', transformer: jsonText })
  kwargs!: Record<string, unknown>;

  @Column({ type: 'varchar', length: 200, nullable: true })
  queue!: string | null;

  @Column({ type: 'varchar', length: 200, nullable: true })
  exchange!: string | null;

  @Column({ name: 'routing_key', type: 'varchar', length: 200, nullable: true })
  routingKey!: string | null;

  /** Message headers, JSON text (an object). */
  @Column({ type: 'text', transformer: jsonText })
  headers!: Record<string, unknown>;

  /** Message priority 0-255 (Celery's 0-9 on Redis). */
  @Column({ type: 'int', nullable: true })
  priority!: number | null;

  /** After this time the entry sends no more runs and is disabled (django-celery-beat's `expires`). */
  @Column({ type: Date, nullable: true })
  expires!: Date | null;

  /** Each sent message expires this many seconds after it was sent (the message's `expires`). */
  @Column({ name: 'expire_seconds', type: 'int', nullable: true })
  expireSeconds!: number | null;

  /** Run once, then disable (clocked schedules are always one-off). */
  @Column({ name: 'one_off', type: 'boolean', default: false })
  oneOff!: boolean;

  /** No run before this time. */
  @Column({ name: 'start_time', type: Date, nullable: true })
  startTime!: Date | null;

  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** Skip a run while the previous run's task has not finished. */
  @Column({ name: 'skip_if_running', type: 'boolean', default: false })
  skipIfRunning!: boolean;

  @Column({ type: 'text' })
  description!: string;

  @Column({ type: 'varchar', length: 16, default: 'admin' })
  source!: PeriodicTaskSource;

  /**
   * For code defaults: `version` right after code last wrote the row. A different `version` means an
   * admin (or SQL) edited it since, so code leaves the row alone.
   */
  @Column({ name: 'code_version', type: 'int', nullable: true })
  codeVersion!: number | null;

  /** Bumped by the trigger on every change an admin (or SQL) makes. */
  @Column({ type: 'int', default: 1 })
  version!: number;

  /** Set by the database: on insert, and by the trigger on every change an admin (or SQL) makes. */
  @Column({ name: 'date_changed', type: Date, insert: false })
  dateChanged!: Date;

  /** Set by the database on insert. */
  @Column({ name: 'created_at', type: Date, insert: false, update: false })
  createdAt!: Date;

  /** Scheduled time of the last run sent (or skipped). */
  @Column({ name: 'last_run_at', type: Date, nullable: true })
  lastRunAt!: Date | null;

  @Column({ name: 'total_run_count', type: 'int', default: 0 })
  totalRunCount!: number;

  @Column({ name: 'last_task_id', type: 'varchar', length: 255, nullable: true })
  lastTaskId!: string | null;

  /** When the next run is due; null: to be computed by the scheduler (new or changed row). */
  @Column({ name: 'next_run_at', type: Date, nullable: true })
  nextRunAt!: Date | null;

  /** Bumped by every scheduler write, whose updates are conditional on it (optimistic lock). */
  @Column({ name: 'beat_seq', type: 'int', default: 0 })
  beatSeq!: number;
}
