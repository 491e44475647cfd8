/**
 * A fresh database per test file on the real servers (PostgreSQL and MariaDB: CREATE DATABASE with a
 * unique name; SQLite: a temp file), migrated, and dropped by `drop()`.
 */
import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { createBeatDataSource, runBeatMigrations } from '../../src/data-source';

export type DatabaseKind = 'sqlite' | 'postgres' | 'mysql';
export const DATABASE_KINDS: DatabaseKind[] = ['sqlite', 'postgres', 'mysql'];

const ADMIN_URL: Record<Exclude<DatabaseKind, 'sqlite'>, string> = {
  postgres: process.env.CELERIAC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  mysql: process.env.CELERIAC_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test',
};

export interface TestDatabase {
  kind: DatabaseKind;
  url: string;
  /** A migrated DataSource on it (initialized). */
  dataSource: DataSource;
  /** Destroys the DataSource and drops the database. */
  drop(): Promise<void>;
}

/** Creates and migrates a new database of that kind. */
export async function createTestDatabase(kind: DatabaseKind, options: { migrate?: boolean } = {}): Promise<TestDatabase> {
  const name = `celeriac_beat_${randomBytes(5).toString('hex')}`;
  let url: string;
  let cleanup: () => Promise<void>;
  if (kind === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'celeriac-beat-'));
    url = `sqlite:${join(dir, 'beat.sqlite')}`;
    cleanup = async () => rmSync(dir, { recursive: true, force: true });
  } else {
    const admin = new DataSource(kind === 'postgres' ? { type: 'postgres', url: ADMIN_URL.postgres } : { type: 'mysql', url: ADMIN_URL.mysql });
    await admin.initialize();
    await admin.query(`CREATE DATABASE ${name}`);
    url = ADMIN_URL[kind].replace(/\/[^/]*$/, `/${name}`);
    cleanup = async () => {
      // PostgreSQL refuses to drop a database with open sessions; FORCE closes them.
      await admin.query(kind === 'postgres' ? `DROP DATABASE IF EXISTS ${name} WITH (FORCE)` : `DROP DATABASE IF EXISTS ${name}`);
      await admin.destroy();
    };
  }
  const dataSource = createBeatDataSource({ url });
  await dataSource.initialize();
  if (options.migrate ?? true) await runBeatMigrations(dataSource);
  return {
    kind,
    url,
    dataSource,
    async drop() {
      if (dataSource.isInitialized) await dataSource.destroy();
      await cleanup();
    },
  };
}
