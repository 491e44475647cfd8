/**
 * Column lists the change triggers compare, shared by the three dialects' DDL.
 * ADMIN_COLUMNS: a change bumps `version` and `date_changed`. SCHEDULE_COLUMNS: a change also clears
 * `next_run_at`, so the scheduler computes it again. The scheduler's own columns are in neither.
 */
export const ADMIN_COLUMNS = [
  'name', 'task', 'interval_id', 'crontab_id', 'solar_id', 'clocked_id', 'args', 'kwargs', 'queue', 'exchange', 'routing_key',
  'headers', 'priority', 'expires', 'expire_seconds', 'one_off', 'start_time', 'enabled', 'skip_if_running', 'description',
] as const;
export const SCHEDULE_COLUMNS = ['interval_id', 'crontab_id', 'solar_id', 'clocked_id', 'start_time', 'enabled', 'expires', 'one_off'] as const;
/** Schedule tables and the periodic-task column that points at each. */
export const SCHEDULE_TABLES = [
  ['celeriac_beat_interval', 'interval_id'],
  ['celeriac_beat_crontab', 'crontab_id'],
  ['celeriac_beat_solar', 'solar_id'],
  ['celeriac_beat_clocked', 'clocked_id'],
] as const;

/** A dialect's DDL: statements run one by one, in order. */
export interface DialectSql {
  up: string[];
  down: string[];
}
