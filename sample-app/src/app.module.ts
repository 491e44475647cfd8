import { CeleriacModule } from '@celeriac/nestjs';
import { Module } from '@nestjs/common';
import { ReportsController } from './reports/reports.controller';
import { ReportsTasks } from './reports/reports.tasks';
import { TextStatsService } from './reports/text-stats.service';

/** Roles of this process: SAMPLE_ROLES=producer (web only), worker, or both (the default). */
const roles = (process.env.SAMPLE_ROLES ?? 'producer,worker').split(',').map((r) => r.trim()) as Array<'producer' | 'worker'>;

@Module({
  imports: [
    // Module options win over CELERIAC_* variables, so the embedded defaults are given only when the
    // variables are unset: CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND point the app at a real server.
    CeleriacModule.forRoot({
      ...(process.env.CELERIAC_BROKER_URL ? {} : { brokerUrl: 'memory://sample' }),
      ...(process.env.CELERIAC_RESULT_BACKEND ? {} : { resultBackend: 'memory://sample' }),
      workerLogLevel: 'warn',
      roles,
      worker: { concurrency: 4 },
    }),
    CeleriacModule.forFeature([ReportsTasks]),
  ],
  controllers: [ReportsController],
  providers: [TextStatsService, ReportsTasks],
})
export class AppModule {}
