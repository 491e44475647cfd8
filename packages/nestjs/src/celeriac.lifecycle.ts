import { Worker, type Celeriac } from '@celeriac/core';
import { Inject, Injectable, Logger, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { resolveRoles } from './celeriac-app.factory';
import { CELERIAC_APP } from './celeriac.constants';
import { CELERIAC_MODULE_OPTIONS, type CeleriacModuleOptions, type CeleriacRole } from './celeriac.module-definition';

/**
 * Starts the in-process worker after bootstrap (role `worker`), so every module is initialized and
 * every task registered first; on Nest's shutdown drains it (warm close: running tasks finish, up to
 * workerShutdownTimeout) and then closes the app's connections.
 */
@Injectable()
export class CeleriacLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly logger = new Logger('Celeriac');
  private workerInstance: Worker | undefined;
  readonly roles: readonly CeleriacRole[];

  constructor(
    @Inject(CELERIAC_APP) private readonly app: Celeriac,
    @Inject(CELERIAC_MODULE_OPTIONS) private readonly options: CeleriacModuleOptions,
  ) {
    this.roles = resolveRoles(options);
  }

  /** The running worker, when this process has the `worker` role. */
  get worker(): Worker | undefined {
    return this.workerInstance;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.roles.includes('worker') || this.workerInstance) return;
    const worker = new Worker(this.app, this.options.worker);
    worker.on('error', (err) => this.logger.error(err instanceof Error ? (err.stack ?? err.message) : String(err)));
    await worker.start();
    this.workerInstance = worker;
  }

  async beforeApplicationShutdown(): Promise<void> {
    const worker = this.workerInstance;
    this.workerInstance = undefined;
    try {
      if (worker) await worker.close({ graceful: true });
    } finally {
      await this.app.close();
    }
  }
}
