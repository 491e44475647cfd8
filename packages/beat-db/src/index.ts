/**
 * @celeriac/beat-db: Celeriac beat schedules in a database (TypeORM: SQLite, PostgreSQL, MySQL/MariaDB).
 * Framework adapters are subpath exports: `@celeriac/beat-db/express`, `@celeriac/beat-db/nestjs`.
 */
export * from './entities';
export { BEAT_DB_MIGRATIONS, BeatDbInitial1763856000000 } from './migrations';
export { createBeatDataSource, beatDataSourceOptions, runBeatMigrations, redactUrl, DEFAULT_BEAT_DB_URL, type BeatDataSourceOptions } from './data-source';
export { toScheduleInput, inputToSchedule, rowScheduleInput, scheduleOf, SCHEDULE_RELATIONS, type ScheduleInput, type IntervalInput, type CrontabInput, type SolarInput, type ClockedInput } from './schedules/schedule-input';
export { nextRunAt, upcomingRuns, firstRunAtOrAfter } from './schedules/next-run';
export { scheduleRowFor, type ScheduleIds } from './schedules/schedule-rows';
export * from './admin';
export * from './scheduler';
