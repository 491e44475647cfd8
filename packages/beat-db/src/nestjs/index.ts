/** @celeriac/beat-db/nestjs: the beat admin as a Nest module (Express platform). */
export { BeatAdminModule } from './beat-admin.module';
export { BeatAdminMiddleware, locateMount } from './beat-admin.middleware';
export {
  BEAT_ADMIN_HANDLERS,
  BEAT_ADMIN_MOUNT,
  BEAT_ADMIN_OPTIONS,
  DEFAULT_ADMIN_PATH,
  type BeatAdminMount,
  type BeatAdminModuleOptions,
  type BeatAdminModuleAsyncOptions,
} from './beat-admin.module-definition';
export { BeatDbModule, BEAT_DB_DATA_SOURCE, type BeatDbModuleOptions } from './beat-db.module';
export { databaseBeatScheduler } from './database-beat-scheduler';
