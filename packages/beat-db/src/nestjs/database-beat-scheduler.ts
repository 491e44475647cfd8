/**
 * The `beatScheduler` option of @celeriac/nestjs's CeleriacModule for beat-db: the `beat` role runs a
 * DatabaseScheduler, and the app's `@Periodic` schedules are upserted into the database as code
 * defaults (an admin's later edits win).
 * @example
 * CeleriacModule.forRootAsync({
 *   inject: [BEAT_DB_DATA_SOURCE],
 *   useFactory: (dataSource: DataSource) => ({ roles: ['worker', 'beat'], beatScheduler: databaseBeatScheduler(dataSource) }),
 * })
 */
import type { BeatEntryConfig, Celeriac } from '@celeriac/core';
import type { DataSource } from 'typeorm';
import { DatabaseScheduler, type DatabaseSchedulerOptions } from '../scheduler';

/** A factory for CeleriacModule's `beatScheduler` option (its shape, without importing @celeriac/nestjs). */
export function databaseBeatScheduler(dataSource: DataSource, options: Omit<DatabaseSchedulerOptions, 'dataSource' | 'entries'> = {}): (app: Celeriac, entries: Record<string, BeatEntryConfig>) => DatabaseScheduler {
  return (app, entries) => new DatabaseScheduler(app, { ...options, dataSource, entries });
}
