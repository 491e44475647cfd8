/**
 * A crontab schedule row (django-celery-beat's CrontabSchedule): Celery's five fields as text, in a
 * time zone. Shared by tasks; a task's next run is computed by core's CrontabSchedule (croner).
 */
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { TABLES } from './table-names';

@Entity(TABLES.crontab)
export class CrontabScheduleEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 240, default: '*' })
  minute!: string;

  @Column({ type: 'varchar', length: 96, default: '*' })
  hour!: string;

  @Column({ name: 'day_of_month', type: 'varchar', length: 124, default: '*' })
  dayOfMonth!: string;

  @Column({ name: 'month_of_year', type: 'varchar', length: 64, default: '*' })
  monthOfYear!: string;

  @Column({ name: 'day_of_week', type: 'varchar', length: 64, default: '*' })
  dayOfWeek!: string;

  /** IANA time zone the fields are read in. */
  @Column({ type: 'varchar', length: 63, default: 'UTC' })
  timezone!: string;
}
