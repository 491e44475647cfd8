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
import { TABLES } from '../../src/entities';

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

/** Empties every beat table (tests in a file share one database). */
export async function emptyTables(db: TestDatabase): Promise<void> {
  for (const table of [TABLES.run, TABLES.audit, TABLES.periodicTask, TABLES.interval, TABLES.crontab, TABLES.solar, TABLES.clocked, TABLES.lease]) await db.dataSource.query(`DELETE FROM ${table}`);
}

/**
 * Jest hooks for a describe block: a fresh migrated database of `kind` created before its tests and
 * dropped after them, emptied before each test. The returned handle reads the current database, so
 * it is usable inside tests and hooks declared after this call.
 */
export function useTestDatabase(kind: DatabaseKind): TestDatabase {
  let current: TestDatabase | undefined;
  const get = (): TestDatabase => {
    if (!current) throw new Error('useTestDatabase: the database exists only once the block\'s beforeAll has run');
    return current;
  };
  beforeAll(async () => {
    current = await createTestDatabase(kind);
  });
  afterAll(async () => {
    await current?.drop();
  });
  beforeEach(() => emptyTables(get()));
  return {
    kind,
    get url() {
      return get().url;
    },
    get dataSource() {
      return get().dataSource;
    },
    drop: () => get().drop(),
  };
}
