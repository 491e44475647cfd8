/**
 * `celeriac-beat-db beat -A <module>`: the database scheduler until SIGINT/SIGTERM (then it gives up
 * its lease, so another replica takes over at once, and exits 0). Run it on every replica you like:
 * one holds the lease and sends, each run is claimed by its row.
 */
import 'reflect-metadata';
import { loadApp, type Celeriac } from '@celeriac/core';
import { createBeatDataSource, DEFAULT_BEAT_DB_URL, redactUrl, runBeatMigrations } from '../data-source';
import { DatabaseScheduler } from '../scheduler';
import type { CliIo } from './main';

export interface BeatCommandOptions {
  /** The app module, as `celeriac -A` takes it (path[:export]). */
  app: string;
  url: string | undefined;
  /** Apply pending migrations before starting. */
  migrate: boolean;
}

/** Runs the scheduler until a signal; resolves with the exit code. */
export async function runBeatCommand(options: BeatCommandOptions, io: CliIo): Promise<number> {
  const url = options.url ?? DEFAULT_BEAT_DB_URL;
  let app: Celeriac;
  try {
    app = (await loadApp(options.app, { cwd: io.cwd })).app;
  } catch (err) {
    io.stderr(`error: ${(err as Error).message}\n`);
    return 2;
  }
  const dataSource = createBeatDataSource({ url });
  let scheduler: DatabaseScheduler | undefined;
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((r) => (requestStop = r));
  const onSignal = (): void => {
    io.stderr('\nbeat-db: Shutting down\n');
    requestStop();
  };
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
  for (const s of signals) io.signals.on(s, onSignal);
  try {
    await dataSource.initialize();
    if (options.migrate) {
      const ran = await runBeatMigrations(dataSource);
      if (ran.length) io.stdout(`Applied ${ran.length} migration(s): ${ran.join(', ')}\n`);
    }
    scheduler = new DatabaseScheduler(app, { dataSource });
    scheduler.on('error', (err) => io.stderr(`beat-db: ${(err as Error)?.message ?? String(err)}\n`));
    await scheduler.start();
    io.stdout(`celeriac-beat-db beat: sending the periodic tasks of ${redactUrl(url)} (leader: ${scheduler.coordinator.constructor.name})\n`);
    await stopRequested;
    return 0;
  } catch (err) {
    io.stderr(`error: beat-db could not run on ${redactUrl(url)}: ${(err as Error).message}\n`);
    return 1;
  } finally {
    for (const s of signals) io.signals.off(s, onSignal);
    await scheduler?.close().catch(() => undefined);
    await app.close().catch(() => undefined);
    if (dataSource.isInitialized) await dataSource.destroy();
  }
}
