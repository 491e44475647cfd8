import { CeleriacModule } from '@celeriac/nestjs';
import { Module } from '@nestjs/common';
import { ReportsController } from './reports/reports.controller';
import { ReportsTasks } from './reports/reports.tasks';
import { TextStatsService } from './reports/text-stats.service';

/** Roles of this process: SAMPLE_ROLES=producer (web only), worker, beat, or all three (the default). */
const roles = (process.env.SAMPLE_ROLES ?? 'producer,worker,beat').split(',').map((r) => r.trim()) as Array<'producer' | 'worker' | 'beat'>;

@Module({
  imports: [
    // Module options win over CELERIAC_* variables, so the embedded defaults are given only when the
    // variables are unset: CELERIAC_BROKER_URL / CELERIAC_RESULT_BACKEND point the app at a real server.
    CeleriacModule.forRoot({
      ...(process.env.CELERIAC_BROKER_URL ? {} : { brokerUrl: 'memory://sample' }),
      ...(process.env.CELERIAC_RESULT_BACKEND ? {} : { resultBackend: 'memory://sample' }),
      // Embedded: beat keeps its state in memory; with a Redis broker it shares it there (safe on every replica).
      ...(process.env.CELERIAC_BROKER_URL ? {} : { beatStore: 'memory' as const }),
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
