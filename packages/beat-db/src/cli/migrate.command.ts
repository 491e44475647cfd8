/** `celeriac-beat-db migrate | revert | show`: beat-db's migrations on the database at a URL. */
import 'reflect-metadata';
import { createBeatDataSource, DEFAULT_BEAT_DB_URL, redactUrl, runBeatMigrations } from '../data-source';
import { TABLES } from '../entities/table-names';
import type { CliIo } from './main';

export type MigrationAction = 'migrate' | 'revert' | 'show';

/** Runs the action; resolves with the exit code (1 when the database fails). */
export async function runMigrationCommand(action: MigrationAction, url: string | undefined, io: CliIo): Promise<number> {
  const target = url ?? DEFAULT_BEAT_DB_URL;
  let dataSource;
  try {
    dataSource = createBeatDataSource({ url: target });
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return 2;
  }
  try {
    await dataSource.initialize();
    if (action === 'migrate') {
      const ran = await runBeatMigrations(dataSource);
      io.stdout(ran.length ? `Applied ${ran.length} migration(s) to ${redactUrl(target)}:\n${ran.map((n) => `  ${n}\n`).join('')}` : `${redactUrl(target)} is up to date.\n`);
    } else if (action === 'revert') {
      await dataSource.undoLastMigration({ transaction: 'each' });
      io.stdout(`Reverted the last migration on ${redactUrl(target)}.\n`);
    } else {
      const runner = dataSource.createQueryRunner();
      const applied = new Set<string>();
      try {
        if (await runner.hasTable(TABLES.migrations)) {
          const rows = (await runner.query(`SELECT name FROM ${TABLES.migrations}`)) as Array<{ name: string }>;
          for (const row of rows) applied.add(row.name);
        }
      } finally {
        await runner.release();
      }
      for (const migration of dataSource.migrations) io.stdout(`${applied.has(migration.name!) ? '[X]' : '[ ]'} ${migration.name}\n`);
    }
    return 0;
  } catch (err) {
    io.stderr(`error: ${action} failed on ${redactUrl(target)}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}
