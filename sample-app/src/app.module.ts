import type { Celeriac } from '@celeriac/core';
import { BEAT_DB_DATA_SOURCE, BeatAdminModule, BeatDbModule, databaseBeatScheduler } from '@celeriac/beat-db/nestjs';
import { CELERIAC_APP, CeleriacModule } from '@celeriac/nestjs';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health/health.controller';
import type { DataSource } from 'typeorm';
import { ReportsController } from './reports/reports.controller';
import { ReportsTasks } from './reports/reports.tasks';
import { TextStatsService } from './reports/text-stats.service';

/** Roles of this process: SAMPLE_ROLES=producer (web only), worker, beat, or all three (the default). */
const roles = (process.env.SAMPLE_ROLES ?? 'producer,worker,beat').split(',').map((r) => r.trim()) as Array<'producer' | 'worker' | 'beat'>;

/** Where periodic tasks live: SQLite next to the app by default; CELERIAC_BEAT_DB_URL=postgres://... or mysql://... */
export const BEAT_DB_URL = process.env.CELERIAC_BEAT_DB_URL ?? 'sqlite:./celeriac-beat.sqlite';

/** Who may use the admin table (the default of beat-db refuses everyone until auth is configured). */
export const ADMIN_USER = { username: process.env.SAMPLE_ADMIN_USER ?? 'admin', password: process.env.SAMPLE_ADMIN_PASSWORD ?? 'celeriac' };

@Module({
  imports: [
    // The periodic-task tables (migrated on start), shared by beat and the admin.
    BeatDbModule.forRoot({ url: BEAT_DB_URL }),
    // Module options win over CELERIAC_* variables, so the embedded defaults are given only when the
    // variables are unset: CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND point the app at a real server.
    CeleriacModule.forRootAsync({
      inject: [BEAT_DB_DATA_SOURCE],
      useFactory: (dataSource: DataSource) => ({
        ...(process.env.CELERIAC_BROKER_URL ? {} : { brokerUrl: 'memory://sample' }),
        ...(process.env.CELERIAC_RESULT_BACKEND ? {} : { resultBackend: 'memory://sample' }),
        workerLogLevel: 'warn',
        roles,
        worker: { concurrency: 4 },
        // Beat reads its schedules from the database: the @Periodic ones are upserted there as defaults,
        // and the admin table edits them (run beat on every replica: one leads, each run is sent once).
        beatScheduler: databaseBeatScheduler(dataSource),
      }),
    }),
    CeleriacModule.forFeature([ReportsTasks]),
    // GET /health: Celeriac's terminus indicator (503 while the worker is not consuming).
    TerminusModule.forRoot({ logger: false }),
    // The admin table (page + REST API) at /admin/periodic-tasks.
    BeatAdminModule.forRootAsync({
      path: '/admin/periodic-tasks',
      inject: [BEAT_DB_DATA_SOURCE, CELERIAC_APP],
      useFactory: (dataSource: DataSource, app: Celeriac) => ({ dataSource, app, auth: { basic: ADMIN_USER } }),
    }),
  ],
  controllers: [ReportsController, HealthController],
  providers: [TextStatsService, ReportsTasks],
})
export class AppModule {}
