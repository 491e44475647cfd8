/**
 * BeatDbModule: beat-db's DataSource for a Nest app, global, from a URL (migrated on start by
 * default) and destroyed on shutdown. Inject it with `@Inject(BEAT_DB_DATA_SOURCE)`; the scheduler
 * and the admin take it from there. An app that already has a TypeORM DataSource (@nestjs/typeorm)
 * adds BEAT_DB_ENTITIES and BEAT_DB_MIGRATIONS to it and skips this module.
 * @example
 * BeatDbModule.forRoot({ url: process.env.CELERIAC_BEAT_DB_URL ?? 'sqlite:./celeriac-beat.sqlite' })
 */
import 'reflect-metadata';
import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { createBeatDataSource, runBeatMigrations, type BeatDataSourceOptions } from '../data-source';

/** Injection token of beat-db's DataSource (initialized). */
export const BEAT_DB_DATA_SOURCE = Symbol.for('celeriac:beat-db:data-source');

export interface BeatDbModuleOptions extends Omit<BeatDataSourceOptions, 'migrationsRun'> {
  /** Apply pending migrations when the app starts. @defaultValue true */
  migrate?: boolean;
}

@Global()
@Module({})
export class BeatDbModule implements OnApplicationShutdown {
  constructor(@Inject(BEAT_DB_DATA_SOURCE) private readonly dataSource: DataSource) {}

  static forRoot(options: BeatDbModuleOptions = {}): DynamicModule {
    const { migrate = true, ...dataSourceOptions } = options;
    return {
      module: BeatDbModule,
      providers: [
        {
          provide: BEAT_DB_DATA_SOURCE,
          useFactory: async (): Promise<DataSource> => {
            const dataSource = createBeatDataSource(dataSourceOptions);
            await dataSource.initialize();
            if (migrate) await runBeatMigrations(dataSource);
            return dataSource;
          },
        },
      ],
      exports: [BEAT_DB_DATA_SOURCE],
    };
  }

  async onApplicationShutdown(): Promise<void> {
    // After Celeriac's beforeApplicationShutdown has stopped the scheduler that reads it.
    if (this.dataSource.isInitialized) await this.dataSource.destroy();
  }
}
