/** A clocked schedule row (django-celery-beat's ClockedSchedule): one run at a time. */
import { Column, Entity, PrimaryGeneratedColumn } from 'typeorm';
import { TABLES } from './table-names';

@Entity(TABLES.clocked)
export class ClockedScheduleEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ name: 'clocked_time', type: Date })
  clockedTime!: Date;
}
