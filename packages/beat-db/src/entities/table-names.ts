/** Table names, in one place: the entities, the migrations and the triggers all use these. */
export const TABLES = {
  interval: 'celeriac_beat_interval',
  crontab: 'celeriac_beat_crontab',
  solar: 'celeriac_beat_solar',
  clocked: 'celeriac_beat_clocked',
  periodicTask: 'celeriac_beat_periodic_task',
  run: 'celeriac_beat_run',
  audit: 'celeriac_beat_audit',
  lease: 'celeriac_beat_lease',
  migrations: 'celeriac_beat_migrations',
} as const;
