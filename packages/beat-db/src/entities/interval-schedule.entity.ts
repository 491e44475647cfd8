/** An interval schedule row (django-celery-beat's IntervalSchedule): every N periods. Shared by tasks. */
import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import { TABLES } from './table-names';

/** Celery's interval periods, as django-celery-beat names them. */
export const INTERVAL_PERIODS = ['days', 'hours', 'minutes', 'seconds', 'microseconds'] as const;
export type IntervalPeriod = (typeof INTERVAL_PERIODS)[number];

/** Milliseconds in one of each period. */
export const PERIOD_MS: Readonly<Record<IntervalPeriod, number>> = { days: 86_400_000, hours: 3_600_000, minutes: 60_000, seconds: 1000, microseconds: 0.001 };

@Entity(TABLES.interval)
@Unique('uq_celeriac_beat_interval', ['every', 'period'])
export class IntervalScheduleEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  /** How many periods between runs (> 0). */
  @Column({ type: 'int' })
  every!: number;

  @Column({ type: 'varchar', length: 24 })
  period!: IntervalPeriod;
}
