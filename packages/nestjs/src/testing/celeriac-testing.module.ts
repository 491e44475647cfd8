import { randomUUID } from 'node:crypto';
import type { DynamicModule } from '@nestjs/common';
import { CeleriacModule } from '../celeriac.module';
import type { CeleriacModuleOptions } from '../celeriac.module-definition';

export interface CeleriacTestingOptions extends Omit<CeleriacModuleOptions, 'roles' | 'brokerUrl' | 'resultBackend'> {
  /**
   * `eager`: `.delay()` runs the task at once in the caller (taskAlwaysEager); `worker`: tasks go
   * through a memory broker to an in-process worker, as in production. @defaultValue 'eager'
   */
  mode?: 'eager' | 'worker';
  /** @defaultValue true */
  isGlobal?: boolean;
}

/**
 * CeleriacModule for tests: memory broker and result backend under a name unique to this call (tests
 * never share queues), no environment variables read, worker logs at warn level.
 * @example
 * const moduleRef = await Test.createTestingModule({ imports: [CeleriacTestingModule.forRoot({ mode: 'worker' })], providers: [MailService] }).compile();
 * await moduleRef.init(); // the worker starts on bootstrap
 */
export class CeleriacTestingModule {
  static forRoot(options: CeleriacTestingOptions = {}): DynamicModule {
    const { mode = 'eager', isGlobal = true, ...rest } = options;
    const name = `celeriac-test-${randomUUID()}`;
    return CeleriacModule.forRoot({
      envPrefix: false,
      workerLogLevel: 'warn',
      taskAlwaysEager: mode === 'eager',
      ...rest,
      brokerUrl: `memory://${name}`,
      resultBackend: `memory://${name}`,
      roles: mode === 'worker' ? ['producer', 'worker'] : ['producer'],
      isGlobal,
    });
  }
}
