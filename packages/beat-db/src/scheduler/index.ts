/** The database scheduler: beat over periodic-task rows, safe on every replica. */
export { DatabaseScheduler, type DatabaseSchedulerOptions } from './database-scheduler';
export { DatabaseLeaseCoordinator, type DatabaseLeaseCoordinatorOptions } from './database-lease-coordinator';
export { syncCodeSchedules, type SyncCodeSchedulesOptions, type SyncCodeSchedulesResult } from './code-defaults';
export { dueRun, sendOptions, type DueRun, type SendColumns } from './due-run';
export { recordRun, HistoryRefresher, REFRESH_BATCH, REFRESH_HORIZON_MS, type RunRecord } from './run-history';
