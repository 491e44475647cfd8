/**
 * A TypeORM DataSource for beat-db from one URL, with beat-db's entities and migrations.
 *
 * ```text
 * sqlite:./celeriac-beat.sqlite   (default) a file, WAL mode: beat and the admin in several processes
 * sqlite::memory:                  tests
 * postgres://user@host:5432/db     (postgresql:// too)
 * mysql://root@host:3306/db        (mariadb:// too) MySQL 8.0.13+ or MariaDB 10.2+
 * ```
 * Drivers are optional peers, loaded by TypeORM only for the scheme used: better-sqlite3, pg, mysql2.
 * An app with its own DataSource adds BEAT_DB_ENTITIES and BEAT_DB_MIGRATIONS to it instead.
 */
import { DataSource, type DataSourceOptions } from 'typeorm';
import { BEAT_DB_ENTITIES, TABLES } from './entities';
import { BEAT_DB_MIGRATIONS } from './migrations';

export const DEFAULT_BEAT_DB_URL = 'sqlite:./celeriac-beat.sqlite';

export interface BeatDataSourceOptions {
  /** @defaultValue DEFAULT_BEAT_DB_URL */
  url?: string;
  /** Run pending migrations when initialized. @defaultValue false */
  migrationsRun?: boolean;
  /** TypeORM's query logging. @defaultValue false */
  logging?: boolean;
  /** Connection pool size (PostgreSQL, MySQL). @defaultValue 10 */
  poolSize?: number;
}

/** TypeORM options for a beat-db URL; throws naming the URL when its scheme is unknown. */
export function beatDataSourceOptions(options: BeatDataSourceOptions = {}): DataSourceOptions {
  const url = options.url ?? DEFAULT_BEAT_DB_URL;
  const common = {
    entities: BEAT_DB_ENTITIES,
    migrations: BEAT_DB_MIGRATIONS,
    migrationsTableName: TABLES.migrations,
    migrationsRun: options.migrationsRun ?? false,
    logging: options.logging ?? false,
  };
  const scheme = /^([a-z0-9+]+):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'sqlite': {
      const database = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '') || ':memory:';
      return { ...common, type: 'better-sqlite3', database, enableWAL: database !== ':memory:', timeout: 10_000 };
    }
    case 'postgres':
    case 'postgresql':
      return { ...common, type: 'postgres', url, poolSize: options.poolSize ?? 10 };
    case 'mysql':
    case 'mariadb':
      // timezone 'Z': DATETIME columns hold UTC, whatever the server's or the process's zone.
      return { ...common, type: 'mysql', url: url.replace(/^mariadb:/i, 'mysql:'), timezone: 'Z', poolSize: options.poolSize ?? 10 };
    case undefined:
    default:
      throw new Error(`Unsupported beat database URL "${redactUrl(url)}": use sqlite:<file>, postgres://... or mysql://... (mariadb://...).`);
  }
}

/** A DataSource for beat-db (not yet initialized). */
export function createBeatDataSource(options: BeatDataSourceOptions = {}): DataSource {
  return new DataSource(beatDataSourceOptions(options));
}

/** The URL with its password hidden, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, '$1***@');
}

/** Runs beat-db's pending migrations; resolves with the names of those it ran. */
export async function runBeatMigrations(dataSource: DataSource): Promise<string[]> {
  const ran = await dataSource.runMigrations({ transaction: 'each' });
  return ran.map((m) => m.name);
}
