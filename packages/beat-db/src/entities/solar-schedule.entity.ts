/** A solar schedule row (django-celery-beat's SolarSchedule): an event (Celery's names) at a place. */
import { Column, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';
import type { SolarEvent } from '@celeriac/core';
import { TABLES } from './table-names';
import { decimalNumber } from './transformers';

@Entity(TABLES.solar)
@Unique('uq_celeriac_beat_solar', ['event', 'latitude', 'longitude'])
export class SolarScheduleEntity {
  @PrimaryGeneratedColumn()
  id!: number;

  @Column({ type: 'varchar', length: 24 })
  event!: SolarEvent;

  @Column({ type: 'decimal', precision: 9, scale: 6, transformer: decimalNumber })
  latitude!: number;

  @Column({ type: 'decimal', precision: 9, scale: 6, transformer: decimalNumber })
  longitude!: number;
}
