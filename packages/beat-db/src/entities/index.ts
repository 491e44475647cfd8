import { AuditLogEntity } from './audit-log.entity';
import { BeatLeaseEntity } from './beat-lease.entity';
import { ClockedScheduleEntity } from './clocked-schedule.entity';
import { CrontabScheduleEntity } from './crontab-schedule.entity';
import { IntervalScheduleEntity } from './interval-schedule.entity';
import { PeriodicTaskRunEntity } from './periodic-task-run.entity';
import { PeriodicTaskEntity } from './periodic-task.entity';
import { SolarScheduleEntity } from './solar-schedule.entity';

export { AuditLogEntity, type AuditAction } from './audit-log.entity';
export { BeatLeaseEntity } from './beat-lease.entity';
export { ClockedScheduleEntity } from './clocked-schedule.entity';
export { CrontabScheduleEntity } from './crontab-schedule.entity';
export { IntervalScheduleEntity, INTERVAL_PERIODS, PERIOD_MS, type IntervalPeriod } from './interval-schedule.entity';
export { PeriodicTaskRunEntity, type RunState } from './periodic-task-run.entity';
export { PeriodicTaskEntity, type PeriodicTaskSource } from './periodic-task.entity';
export { SolarScheduleEntity } from './solar-schedule.entity';
export { TABLES } from './table-names';

/** Every entity beat-db maps; pass to your DataSource's `entities` (createBeatDataSource does). */
export const BEAT_DB_ENTITIES = [IntervalScheduleEntity, CrontabScheduleEntity, SolarScheduleEntity, ClockedScheduleEntity, PeriodicTaskEntity, PeriodicTaskRunEntity, AuditLogEntity, BeatLeaseEntity];
