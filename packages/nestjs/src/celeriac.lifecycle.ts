import { Beat, Worker, type BeatEntryConfig, type Celeriac } from '@celeriac/core';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { resolveRoles } from './celeriac-app.factory';
import { CELERIAC_APP } from './celeriac.constants';
import { CeleriacExplorer, type PeriodicDefinition } from './celeriac.explorer';
import { CELERIAC_MODULE_OPTIONS, type BeatService, type CeleriacModuleOptions, type CeleriacRole } from './celeriac.module-definition';

/**
 * Starts the in-process worker (role `worker`) and beat (role `beat`) after bootstrap, so every module
 * is initialized and every task and `@Periodic` schedule registered first; on Nest's shutdown stops
 * beat, drains the worker (warm close: running tasks finish, up to workerShutdownTimeout) and then
 * closes the app's connections.
 */
@Injectable()
export class CeleriacLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Celeriac');
  private workerInstance: Worker | undefined;
  private beatInstance: BeatService | undefined;
  readonly roles: readonly CeleriacRole[];

  constructor(
    @Inject(CELERIAC_APP) private readonly app: Celeriac,
    @Inject(CELERIAC_MODULE_OPTIONS) private readonly options: CeleriacModuleOptions,
    private readonly explorer: CeleriacExplorer,
  ) {
    this.roles = resolveRoles(options);
  }

  /** The running core Beat, when this process has the `beat` role and no `beatScheduler` replaces it. */
  get beat(): Beat | undefined {
    return this.beatInstance instanceof Beat ? this.beatInstance : undefined;
  }

  /** The running scheduler of the `beat` role: core's Beat or the `beatScheduler` option's. */
  get beatService(): BeatService | undefined {
    return this.beatInstance;
  }

  /** The running worker, when this process has the `worker` role. */
  get worker(): Worker | undefined {
    return this.workerInstance;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.roles.includes('worker') && !this.workerInstance) {
      const worker = new Worker(this.app, this.options.worker);
      worker.on('error', (err) => this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err)));
      await worker.start();
      this.workerInstance = worker;
    }
    if (this.roles.includes('beat') && !this.beatInstance) {
      this.explorer.explore();
      const entries = beatEntries(this.explorer.getPeriodicSchedules());
      const beat = this.options.beatScheduler ? this.options.beatScheduler(this.app, entries) : new Beat(this.app, { ...this.options.beat, entries });
      beat.on('error', (err) => this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err)));
      await beat.start();
      this.beatInstance = beat;
      const names = Object.keys(entries);
      this.logger.log(`beat started (${beat.constructor.name}) with ${names.length} @Periodic schedule(s): ${names.join(', ')}`);
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    const worker = this.workerInstance;
    const beat = this.beatInstance;
    this.workerInstance = undefined;
    this.beatInstance = undefined;
    try {
      if (beat) await beat.close();
      if (worker) await worker.close({ graceful: true });
    } finally {
      await this.app.close();
    }
  }
}

/** `@Periodic` definitions as beat entries (the mapping BeatOptions documents). */
export function beatEntries(definitions: readonly PeriodicDefinition[]): Record<string, BeatEntryConfig> {
  const entries: Record<string, BeatEntryConfig> = {};
  for (const d of definitions) {
    entries[d.name] = {
      task: d.taskName,
      schedule: d.schedule,
      args: [...d.args],
      kwargs: { ...d.kwargs },
      options: d.queue ? { queue: d.queue } : {},
      enabled: d.enabled,
    };
  }
  return entries;
}
